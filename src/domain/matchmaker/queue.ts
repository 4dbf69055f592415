// The waiting queue and the matching rules of PROTOCOL.md, pure.
//
// Users wait in buckets keyed by (gender, preference): 3 × 4 = 12. A newcomer
// is compatible with at most a few buckets (rule 1), and the longest waiting
// eligible partner is the oldest head among them (rule 2), so finding a
// partner costs the same with 10 or 10,000 people waiting. (Every ordered
// collection here is a Map: it iterates in insertion order and deletes in O(1).)
//
// Interests (rule 3) and language (PROTOCOL.md 1.1) hold for the first 10 s
// of waiting, the window: a user who gave interests takes and is taken only
// by someone sharing one; a user who gave a language, by no one who gave a
// different one. People with neither are open from the start (`plain`);
// the others are open once their window is over (`expired`). Until then,
// people with interests are reachable only through the interest index, and
// people with a language and no interests through their bucket's `langWindow`.
// Everything that may be taken across languages is split by language ("" for
// none), so a language rule looks at whole lanes, never at each person: the
// cost grows with the number of languages waiting, not with the queue.
// Windows all have the same length, so they end in the order people joined,
// and the ones that end can be appended to `expired` without breaking its
// order; in every lane, those still inside their window come last.
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
	/** ISO 639-1 code, lower case; absent when not given. */
	language?: string;
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

/**
 * Whether `s` is still inside its window: it gave interests (rule 3) or a
 * language, and joined less than `windowMs` ago. Until then only a shared
 * interest, and no different language, matches it.
 */
export function inWindow(
	s: Pick<Seeker, "interests" | "joinedAt" | "language">,
	now: number,
	windowMs: number,
): boolean {
	return (s.interests.length > 0 || s.language !== undefined) && now < s.joinedAt + windowMs;
}

export function sharedInterests(a: readonly string[], b: readonly string[]): string[] {
	if (a.length === 0 || b.length === 0) return [];
	const other = new Set(b);
	return a.filter((i) => other.has(i));
}

/** People by language ("" for none), each lane oldest first. */
type Lanes = Map<string, Map<string, Seeker>>;

const laneKey = (s: Seeker): string => s.language ?? "";

function laneOf(lanes: Lanes, key: string): Map<string, Seeker> {
	let lane = lanes.get(key);
	if (!lane) {
		lane = new Map();
		lanes.set(key, lane);
	}
	return lane;
}

function dropFrom(lanes: Lanes | undefined, key: string, userId: string): void {
	const lane = lanes?.get(key);
	if (!lane?.delete(userId)) return;
	if (lane.size === 0) lanes?.delete(key);
}

interface Bucket {
	/** No interests and no language: open from the start. */
	plain: Map<string, Seeker>;
	/** Those whose window is over, in the order the windows ended. */
	expired: Lanes;
	/** A language and no interests, inside the window. */
	langWindow: Lanes;
}

export class MatchQueue {
	private readonly all = new Map<string, Seeker>();
	private readonly buckets = new Map<BucketKey, Bucket>(
		ALL_BUCKETS.map((b) => [b.key, { plain: new Map(), expired: new Map(), langWindow: new Map() }]),
	);
	/** People inside their window, oldest first. */
	private readonly windowed = new Map<string, Seeker>();
	/** interest → bucket → people who gave it, by language. */
	private readonly byInterest = new Map<string, Map<BucketKey, Lanes>>();

	constructor(private readonly windowMs: number) {}

	get size(): number {
		return this.all.size;
	}

	has(userId: string): boolean {
		return this.all.has(userId);
	}

	/** When the oldest open window ends, if any. */
	nextWindowEnd(): number | undefined {
		for (const s of this.windowed.values()) return s.joinedAt + this.windowMs;
		return undefined;
	}

	/**
	 * Adds a waiting user. Adding in `seq` order keeps every lane ordered; a
	 * rebuild after hibernation sorts by `seq` first.
	 */
	add(s: Seeker, now: number): void {
		if (this.all.has(s.userId)) this.remove(s.userId);
		this.all.set(s.userId, s);
		const bucket = this.bucket(s);
		if (s.interests.length === 0 && s.language === undefined) bucket.plain.set(s.userId, s);
		else if (!inWindow(s, now, this.windowMs)) laneOf(bucket.expired, laneKey(s)).set(s.userId, s);
		else {
			this.windowed.set(s.userId, s);
			if (s.interests.length === 0) laneOf(bucket.langWindow, laneKey(s)).set(s.userId, s);
		}
		for (const interest of s.interests) {
			let perBucket = this.byInterest.get(interest);
			if (!perBucket) {
				perBucket = new Map();
				this.byInterest.set(interest, perBucket);
			}
			let lanes = perBucket.get(bucketKey(s));
			if (!lanes) {
				lanes = new Map();
				perBucket.set(bucketKey(s), lanes);
			}
			laneOf(lanes, laneKey(s)).set(s.userId, s);
		}
	}

	remove(userId: string): Seeker | undefined {
		const s = this.all.get(userId);
		if (!s) return undefined;
		this.all.delete(userId);
		const bucket = this.bucket(s);
		bucket.plain.delete(userId);
		dropFrom(bucket.expired, laneKey(s), userId);
		dropFrom(bucket.langWindow, laneKey(s), userId);
		this.windowed.delete(userId);
		for (const interest of s.interests) {
			const perBucket = this.byInterest.get(interest);
			const lanes = perBucket?.get(bucketKey(s));
			dropFrom(lanes, laneKey(s), userId);
			if (lanes && lanes.size === 0) perBucket?.delete(bucketKey(s));
			if (perBucket && perBucket.size === 0) this.byInterest.delete(interest);
		}
		return s;
	}

	/** Moves everyone whose window has ended to the open lanes; returns them, oldest first. */
	endWindows(now: number): Seeker[] {
		const ended: Seeker[] = [];
		for (const s of this.windowed.values()) {
			if (inWindow(s, now, this.windowMs)) break;
			ended.push(s);
		}
		for (const s of ended) {
			this.windowed.delete(s.userId);
			const bucket = this.bucket(s);
			dropFrom(bucket.langWindow, laneKey(s), s.userId);
			laneOf(bucket.expired, laneKey(s)).set(s.userId, s);
		}
		return ended;
	}

	/**
	 * The partner `s` should get now, or null (rules 1–4 and language). `s`
	 * itself may be waiting or not; it is never its own partner. Does not
	 * change the queue.
	 */
	findPartner(s: Seeker, now: number, blocked: BlockedPair): Match | null {
		const compatible = COMPATIBLE.get(bucketKey(s)) ?? [];
		const eligible = (c: Seeker) => c.userId !== s.userId && !blocked(s.userId, c.userId);
		const mineOpen = inWindow(s, now, this.windowMs);
		const stillWindowed = (c: Seeker) => inWindow(c, now, this.windowMs);
		// The lane of language `key`: taken freely, only by those out of their
		// window (a different language: both must be out of it), or not at all.
		const rule = (key: string): "any" | "unwindowed" | "none" => {
			if (s.language === undefined || key === "" || key === s.language) return "any";
			return mineOpen ? "none" : "unwindowed";
		};
		let best: Seeker | undefined;
		const consider = (head: Seeker | undefined) => {
			if (head && (!best || head.seq < best.seq)) best = head;
		};

		// Someone sharing an interest is preferred, and is the only choice while
		// either side's window is open; sharing also satisfies the other's interests.
		for (const interest of s.interests) {
			const perBucket = this.byInterest.get(interest);
			if (!perBucket) continue;
			for (const key of compatible) {
				for (const [lang, lane] of perBucket.get(key) ?? []) {
					const r = rule(lang);
					if (r !== "none") consider(firstWhere(lane, eligible, r === "unwindowed" ? stillWindowed : undefined));
				}
			}
		}
		if (best) return { partner: best, shared: sharedInterests(s.interests, best.interests) };
		if (mineOpen && s.interests.length > 0) return null;

		// Otherwise the longest-waiting user of a compatible bucket open to `s`.
		for (const key of compatible) {
			const bucket = this.buckets.get(key);
			if (!bucket) continue;
			consider(firstWhere(bucket.plain, eligible));
			for (const [lang, lane] of bucket.expired) if (rule(lang) !== "none") consider(firstWhere(lane, eligible));
			// Inside their window, those with a language take no one with another.
			for (const [lang, lane] of bucket.langWindow) {
				if (s.language === undefined || lang === s.language) consider(firstWhere(lane, eligible));
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
 * The oldest entry passing `ok`, before the first for which `stop` holds.
 * Entries fail only when blocked for this seeker (a last partner, someone
 * reported), so the scan ends after a few; `stop` (still inside the window)
 * holds for a lane's youngest entries only, so everything after the first
 * such one would fail it too.
 */
function firstWhere(
	lane: Map<string, Seeker> | undefined,
	ok: (s: Seeker) => boolean,
	stop?: (s: Seeker) => boolean,
): Seeker | undefined {
	if (!lane) return undefined;
	for (const s of lane.values()) {
		if (stop?.(s)) return undefined;
		if (ok(s)) return s;
	}
	return undefined;
}
