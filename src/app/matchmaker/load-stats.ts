// What reaches the Matchmaker, counted by kind and summed up once per sweep
// in a `lobby_load` log line: the singleton's budget (about 1,000 requests a
// second in production, docs/BENCHMARKS.md) is the service's, so operators
// (and the hostile-load benchmark) must see what spends it. The line also
// carries the matches made and the storage rows written (the bill, through
// the object's RowMeter), so that rows per match can be read off the logs.
// Counting is a field increment; nothing here is on any decision's path.

export type LoadKind = "upgrades" | "refused_upgrades" | "frames" | "closes" | "rpc_chat" | "rpc_stats" | "alarms";

export type LoadSummary = Record<LoadKind, number> & {
	/** Matches made since the previous line. */
	matches: number;
	/** Storage rows written since the previous line (also those of quiet intervals that had no line). */
	rows_written: number;
	window_ms: number;
};

/** Where the rows written come from: `take` returns the count since its last call (a RowMeter). */
export interface RowSource {
	take(): number;
}

export class LoadStats {
	private counts: Record<LoadKind, number> = LoadStats.zero();
	private matches = 0;
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

	/** A match was made. */
	matched(): void {
		this.matches++;
	}

	/**
	 * The counts since the last call, or null if nothing came in and nothing
	 * was matched (only the sweep's own alarm). The rows are taken from
	 * `rows` only when a line is made, so that no row goes unreported.
	 */
	take(now: number, rows: RowSource): LoadSummary | null {
		const counts = this.counts;
		const matches = this.matches;
		const window = now - this.since;
		this.counts = LoadStats.zero();
		this.matches = 0;
		this.since = now;
		const total = Object.values(counts).reduce((a, b) => a + b, 0);
		if (total <= counts.alarms && matches === 0) return null;
		return { ...counts, matches, rows_written: rows.take(), window_ms: window };
	}
}
