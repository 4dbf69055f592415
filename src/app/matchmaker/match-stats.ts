// Matches are summarised, not logged one by one: the Matchmaker is a
// singleton on the join path of every user, and a log line per match costs
// more than the match itself (under `wrangler dev` every console.log crosses
// the inspector; measured in docs/BENCHMARKS.md). One `matches` line per
// sweep interval carries what operating the service needs.

export interface MatchSummary {
	count: number;
	/** Mean and longest wait of the pairs matched (the longer wait of each pair). */
	wait_ms_avg: number;
	wait_ms_max: number;
	/** Matches whose users shared at least one interest. */
	with_shared_interests: number;
}

export class MatchStats {
	private count = 0;
	private waitTotal = 0;
	private waitMax = 0;
	private shared = 0;

	record(waitMs: number, sharedInterests: number): void {
		this.count++;
		this.waitTotal += waitMs;
		this.waitMax = Math.max(this.waitMax, waitMs);
		if (sharedInterests > 0) this.shared++;
	}

	get pending(): boolean {
		return this.count > 0;
	}

	/** The summary since the last call, and a fresh start; null when nothing was matched. */
	take(): MatchSummary | null {
		if (this.count === 0) return null;
		const summary = {
			count: this.count,
			wait_ms_avg: Math.round(this.waitTotal / this.count),
			wait_ms_max: this.waitMax,
			with_shared_interests: this.shared,
		};
		this.count = 0;
		this.waitTotal = 0;
		this.waitMax = 0;
		this.shared = 0;
		return summary;
	}
}
