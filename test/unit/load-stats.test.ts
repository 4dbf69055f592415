import { describe, expect, it } from "vitest";
import { LoadStats } from "../../src/lobby/load-stats";

describe("the lobby's load summary", () => {
	it("counts each kind since the last summary, and says nothing when only its own alarm ran", () => {
		const load = new LoadStats(1_000);
		for (let i = 0; i < 3; i++) load.count("frames");
		load.count("upgrades");
		load.count("alarms");
		expect(load.take(21_000)).toEqual({
			upgrades: 1,
			refused_upgrades: 0,
			frames: 3,
			closes: 0,
			rpc_chat: 0,
			rpc_stats: 0,
			alarms: 1,
			window_ms: 20_000,
		});
		load.count("alarms");
		expect(load.take(41_000)).toBeNull();
		load.count("rpc_stats");
		expect(load.take(42_000)).toMatchObject({ rpc_stats: 1, window_ms: 1_000 });
	});
});
