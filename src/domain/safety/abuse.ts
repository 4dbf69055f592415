// Who must solve a proof of work before the next join_queue, pure. Counts
// chats started per user and per client address, and rate-limit refusals per
// user, in sliding 60 s windows. An address is counted too because a fresh
// identity costs nothing: a bot must not escape by dropping its token.
import { SlidingWindow } from "../limits/sliding-window";

export const ABUSE = {
	windowMs: 60_000,
	/** More chats than this started by one user within the window. */
	userStarts: 10,
	/** More chats than this started from one address (many people share one: carrier NAT). */
	addressStarts: 60,
	/** This many rate-limit refusals of one user within the window. */
	userRefusals: 5,
	/** A solved challenge exempts its user for this long (the counters start over). */
	clearedMs: 60_000,
} as const;

export type ChallengeCause = "chats" | "rate_limits" | "address";

export class AbuseTracker {
	private readonly starts = new Map<string, SlidingWindow>();
	private readonly addressStarts = new Map<string, SlidingWindow>();
	private readonly refusals = new Map<string, SlidingWindow>();
	private readonly cleared = new Map<string, number>();

	private window(map: Map<string, SlidingWindow>, key: string): SlidingWindow {
		let w = map.get(key);
		if (!w) {
			w = new SlidingWindow(ABUSE.windowMs);
			map.set(key, w);
		}
		return w;
	}

	/** A match: one chat started for each user, and one for each address among them. */
	chatStarted(users: readonly { user: string; address: string | null }[], now: number): void {
		for (const { user } of users) this.window(this.starts, user).add(now);
		for (const address of new Set(users.map((u) => u.address))) {
			if (address) this.window(this.addressStarts, address).add(now);
		}
	}

	refused(user: string, now: number): void {
		this.window(this.refusals, user).add(now);
	}

	/**
	 * Why `user` must solve a challenge before joining, or null; `perAddress`
	 * obeys PER_IP_LIMITS.
	 */
	mustSolve(user: string, address: string | null, perAddress: boolean, now: number): ChallengeCause | null {
		const clearedAt = this.cleared.get(user);
		if (clearedAt !== undefined && now - clearedAt < ABUSE.clearedMs) return null;
		if ((this.starts.get(user)?.count(now) ?? 0) > ABUSE.userStarts) return "chats";
		if ((this.refusals.get(user)?.count(now) ?? 0) >= ABUSE.userRefusals) return "rate_limits";
		if (perAddress && address !== null && (this.addressStarts.get(address)?.count(now) ?? 0) > ABUSE.addressStarts) {
			return "address";
		}
		return null;
	}

	solved(user: string, now: number): void {
		this.cleared.set(user, now);
		this.starts.delete(user);
		this.refusals.delete(user);
	}

	/** Forgets windows that emptied, so memory follows the active users only. */
	prune(now: number): void {
		for (const map of [this.starts, this.addressStarts, this.refusals]) {
			for (const [key, w] of map) if (w.count(now) === 0) map.delete(key);
		}
		for (const [user, at] of this.cleared) if (now - at >= ABUSE.clearedMs) this.cleared.delete(user);
	}
}
