// What reaches the Matchmaker, counted by kind and summed up once per sweep
// in a `lobby_load` log line: the singleton's budget (about 1,000 requests a
// second in production, docs/BENCHMARKS.md) is the service's, so operators
// (and the hostile-load benchmark) must see what spends it. Counting is a
// field increment; nothing here is on any decision's path.

export type LoadKind = "upgrades" | "refused_upgrades" | "frames" | "closes" | "rpc_chat" | "rpc_stats" | "alarms";

export type LoadSummary = Record<LoadKind, number> & { window_ms: number };

export class LoadStats {
	private counts: Record<LoadKind, number> = LoadStats.zero();
	private since: number;

	constructor(now: number) {
		this.since = now;
	}

	private static zero(): Record<LoadKind, number> {
		return { upgrades: 0, refused_upgrades: 0, frames: 0, closes: 0, rpc_chat: 0, rpc_stats: 0, alarms: 0 };
	}

	count(kind: LoadKind): void {
		this.counts[kind]++;
	}

	/** The counts since the last call, or null if nothing came in (only the sweep's own alarm). */
	take(now: number): LoadSummary | null {
		const counts = this.counts;
		const window = now - this.since;
		this.counts = LoadStats.zero();
		this.since = now;
		const total = Object.values(counts).reduce((a, b) => a + b, 0);
		return total > counts.alarms ? { ...counts, window_ms: window } : null;
	}
}
