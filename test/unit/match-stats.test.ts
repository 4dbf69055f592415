import { describe, expect, it } from "vitest";
import { MatchStats } from "../../src/app/matchmaker/match-stats";

describe("MatchStats", () => {
	it("sums up the matches since the last take, then starts over", () => {
		const stats = new MatchStats();
		expect(stats.pending).toBe(false);
		expect(stats.take()).toBeNull();
		stats.record(100, 0);
		stats.record(301, 2);
		stats.record(0, 1);
		expect(stats.pending).toBe(true);
		expect(stats.take()).toEqual({ count: 3, wait_ms_avg: 134, wait_ms_max: 301, with_shared_interests: 2 });
		expect(stats.pending).toBe(false);
		expect(stats.take()).toBeNull();
		stats.record(7, 0);
		expect(stats.take()).toEqual({ count: 1, wait_ms_avg: 7, wait_ms_max: 7, with_shared_interests: 0 });
	});
});
