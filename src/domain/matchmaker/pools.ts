// Separate waiting pools that are never matched across, pure: adults and
// teens, and, inside each, people reported by several others recently (who
// meet only each other until the reports age out). Each pool is a MatchQueue
// of its own, so the rules and the O(1) matching hold inside every pool.
import type { AgeBand } from "../../protocol/schemas";
import { type BlockedPair, type Match, MatchQueue, type Seeker } from "./queue";

export type PoolKey = `${AgeBand}|${"flagged" | "clear"}`;

export function poolOf(ageBand: AgeBand, flagged: boolean): PoolKey {
	return `${ageBand}|${flagged ? "flagged" : "clear"}`;
}

export class Pools {
	private readonly queues = new Map<PoolKey, MatchQueue>();
	private readonly poolOfUser = new Map<string, PoolKey>();

	constructor(private readonly windowMs: number) {}

	private queue(pool: PoolKey): MatchQueue {
		let q = this.queues.get(pool);
		if (!q) {
			q = new MatchQueue(this.windowMs);
			this.queues.set(pool, q);
		}
		return q;
	}

	get size(): number {
		return this.poolOfUser.size;
	}

	has(userId: string): boolean {
		return this.poolOfUser.has(userId);
	}

	add(s: Seeker, pool: PoolKey, now: number): void {
		this.remove(s.userId);
		this.queue(pool).add(s, now);
		this.poolOfUser.set(s.userId, pool);
	}

	remove(userId: string): Seeker | undefined {
		const pool = this.poolOfUser.get(userId);
		if (pool === undefined) return undefined;
		this.poolOfUser.delete(userId);
		return this.queues.get(pool)?.remove(userId);
	}

	findPartner(s: Seeker, pool: PoolKey, now: number, blocked: BlockedPair): Match | null {
		return this.queues.get(pool)?.findPartner(s, now, blocked) ?? null;
	}

	/** Everyone whose interest window ended, with their pool, oldest first within each pool. */
	endWindows(now: number): { seeker: Seeker; pool: PoolKey }[] {
		const ended: { seeker: Seeker; pool: PoolKey }[] = [];
		for (const [pool, q] of this.queues) for (const seeker of q.endWindows(now)) ended.push({ seeker, pool });
		return ended.sort((a, b) => a.seeker.seq - b.seeker.seq);
	}

	nextWindowEnd(): number | undefined {
		let next: number | undefined;
		for (const q of this.queues.values()) {
			const t = q.nextWindowEnd();
			if (t !== undefined && (next === undefined || t < next)) next = t;
		}
		return next;
	}
}
