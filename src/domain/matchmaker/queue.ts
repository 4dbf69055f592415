// The waiting queue and the matching rules of PROTOCOL.md, pure.
//
// Users wait in buckets keyed by (gender, preference): 3 × 4 = 12. A newcomer
// is compatible with at most a few buckets (rule 1), and the longest waiting
// eligible partner is the oldest head among them (rule 2), so finding a
// partner costs the same with 10 or 10,000 people waiting. (Every ordered
// collection here is a Map: it iterates in insertion order and deletes in O(1).)
//
// Interests (rule 3): a bucket holds the people anyone compatible may take,
// in two ordered maps, `plain` (no interests) and `expired` (their 10 s window
// is over). People still inside their window are in none of the buckets: they
// wait in `windowed` (oldest first) and are reachable only through the
// interest index. Windows all have the same length, so they end in the order
// people joined and the ones that end can be appended to their bucket's
// `expired` without breaking its order.
import { GENDERS, type Gender, PREFERENCES, type Preference } from "../../protocol/schemas";

export interface Seeker {
	userId: string;
	gender: Gender;
	preference: Preference;
	/** Normalised (trimmed, lower case, unique). */
	interests: readonly string[];
	joinedAt: number;
	/** Arrival order; breaks ties between equal `joinedAt`. */
	seq: number;
}

export interface Match {
	partner: Seeker;
	shared: string[];
}

/** Whether two users may not be matched (rule 4): the caller owns that memory. */
export type BlockedPair = (a: string, b: string) => boolean;

type BucketKey = `${Gender}|${Preference}`;
const bucketKey = (s: Pick<Seeker, "gender" | "preference">): BucketKey => `${s.gender}|${s.preference}`;

/** Rule 1, mutual preference. */
export function mutuallyAcceptable(
	a: Pick<Seeker, "gender" | "preference">,
	b: Pick<Seeker, "gender" | "preference">,
): boolean {
	return (a.preference === "any" || a.preference === b.gender) && (b.preference === "any" || b.preference === a.gender);
}

const ALL_BUCKETS = GENDERS.flatMap((gender) =>
	PREFERENCES.map((preference) => ({ gender, preference, key: bucketKey({ gender, preference }) })),
);
/** For each bucket, the buckets whose members it may be matched with. */
const COMPATIBLE = new Map<BucketKey, BucketKey[]>(
	ALL_BUCKETS.map((a) => [a.key, ALL_BUCKETS.filter((b) => mutuallyAcceptable(a, b)).map((b) => b.key)]),
);

/** Whether `s` is still inside its interest window (rule 3): matched only on a shared interest. */
export function inInterestWindow(s: Pick<Seeker, "interests" | "joinedAt">, now: number, windowMs: number): boolean {
	return s.interests.length > 0 && now < s.joinedAt + windowMs;
}

export function sharedInterests(a: readonly string[], b: readonly string[]): string[] {
	if (a.length === 0 || b.length === 0) return [];
	const other = new Set(b);
	return a.filter((i) => other.has(i));
}

interface Bucket {
	/** No interests: open from the start. */
	plain: Map<string, Seeker>;
	/** Interests whose window is over, in the order the windows ended. */
	expired: Map<string, Seeker>;
}

export class MatchQueue {
	private readonly all = new Map<string, Seeker>();
	private readonly buckets = new Map<BucketKey, Bucket>(
		ALL_BUCKETS.map((b) => [b.key, { plain: new Map(), expired: new Map() }]),
	);
	/** People inside their interest window, oldest first. */
	private readonly windowed = new Map<string, Seeker>();
	/** interest → bucket → people who gave it, oldest first. */
	private readonly byInterest = new Map<string, Map<BucketKey, Map<string, Seeker>>>();

	constructor(private readonly windowMs: number) {}

	get size(): number {
		return this.all.size;
	}

	has(userId: string): boolean {
		return this.all.has(userId);
	}

	/** When the oldest open interest window ends, if any. */
	nextWindowEnd(): number | undefined {
		for (const s of this.windowed.values()) return s.joinedAt + this.windowMs;
		return undefined;
	}

	/**
	 * Adds a waiting user. Adding in `seq` order keeps every FIFO ordered; a
	 * rebuild after hibernation sorts by `seq` first.
	 */
	add(s: Seeker, now: number): void {
		if (this.all.has(s.userId)) this.remove(s.userId);
		this.all.set(s.userId, s);
		const bucket = this.bucket(s);
		if (s.interests.length === 0) bucket.plain.set(s.userId, s);
		else if (inInterestWindow(s, now, this.windowMs)) this.windowed.set(s.userId, s);
		else bucket.expired.set(s.userId, s);
		for (const interest of s.interests) {
			let perBucket = this.byInterest.get(interest);
			if (!perBucket) {
				perBucket = new Map();
				this.byInterest.set(interest, perBucket);
			}
			let fifo = perBucket.get(bucketKey(s));
			if (!fifo) {
				fifo = new Map();
				perBucket.set(bucketKey(s), fifo);
			}
			fifo.set(s.userId, s);
		}
	}

	remove(userId: string): Seeker | undefined {
		const s = this.all.get(userId);
		if (!s) return undefined;
		this.all.delete(userId);
		const bucket = this.bucket(s);
		bucket.plain.delete(userId);
		bucket.expired.delete(userId);
		this.windowed.delete(userId);
		for (const interest of s.interests) {
			const perBucket = this.byInterest.get(interest);
			const fifo = perBucket?.get(bucketKey(s));
			fifo?.delete(userId);
			if (fifo && fifo.size === 0) perBucket?.delete(bucketKey(s));
			if (perBucket && perBucket.size === 0) this.byInterest.delete(interest);
		}
		return s;
	}

	/** Moves everyone whose interest window has ended to the open FIFOs; returns them, oldest first. */
	endWindows(now: number): Seeker[] {
		const ended: Seeker[] = [];
		for (const s of this.windowed.values()) {
			if (inInterestWindow(s, now, this.windowMs)) break;
			ended.push(s);
		}
		for (const s of ended) {
			this.windowed.delete(s.userId);
			this.bucket(s).expired.set(s.userId, s);
		}
		return ended;
	}

	/**
	 * The partner `s` should get now, or null (rules 1–4). `s` itself may be
	 * waiting or not; it is never its own partner. Does not change the queue.
	 */
	findPartner(s: Seeker, now: number, blocked: BlockedPair): Match | null {
		const compatible = COMPATIBLE.get(bucketKey(s)) ?? [];
		const eligible = (c: Seeker) => c.userId !== s.userId && !blocked(s.userId, c.userId);

		// Someone sharing an interest is preferred, and is the only choice while
		// either side's window is open; sharing also satisfies the other's window.
		let best: Seeker | undefined;
		for (const interest of s.interests) {
			const perBucket = this.byInterest.get(interest);
			if (!perBucket) continue;
			for (const key of compatible) {
				const head = firstWhere(perBucket.get(key), eligible);
				if (head && (!best || head.seq < best.seq)) best = head;
			}
		}
		if (best) return { partner: best, shared: sharedInterests(s.interests, best.interests) };
		if (inInterestWindow(s, now, this.windowMs)) return null;

		// Otherwise the longest-waiting open user of a compatible bucket.
		for (const key of compatible) {
			const bucket = this.buckets.get(key);
			if (!bucket) continue;
			for (const fifo of [bucket.plain, bucket.expired]) {
				const head = firstWhere(fifo, eligible);
				if (head && (!best || head.seq < best.seq)) best = head;
			}
		}
		return best ? { partner: best, shared: [] } : null;
	}

	private bucket(s: Seeker): Bucket {
		const bucket = this.buckets.get(bucketKey(s));
		if (!bucket) throw new Error(`no bucket for ${bucketKey(s)}`);
		return bucket;
	}
}

/**
 * The oldest entry passing `ok`. Entries fail only when blocked for this
 * seeker (a last partner, someone reported), so the scan stops after a few.
 */
function firstWhere(fifo: Map<string, Seeker> | undefined, ok: (s: Seeker) => boolean): Seeker | undefined {
	if (!fifo) return undefined;
	for (const s of fifo.values()) if (ok(s)) return s;
	return undefined;
}
