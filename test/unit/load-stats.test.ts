import { describe, expect, it } from "vitest";
import { LoadStats } from "../../src/app/matchmaker/load-stats";

/** A row meter that has written `n` rows since it was last taken. */
function rows(n: number) {
	let pending = n;
	return {
		add(more: number) {
			pending += more;
		},
		take() {
			const taken = pending;
			pending = 0;
			return taken;
		},
	};
}

describe("the lobby's load summary", () => {
	it("counts each kind since the last summary, and says nothing when only its own alarm ran", () => {
		const load = new LoadStats(1_000);
		const meter = rows(0);
		for (let i = 0; i < 3; i++) load.count("frames");
		load.count("upgrades");
		load.count("alarms");
		expect(load.take(21_000, meter)).toEqual({
			upgrades: 1,
			refused_upgrades: 0,
			frames: 3,
			closes: 0,
			rpc_chat: 0,
			rpc_stats: 0,
			alarms: 1,
			matches: 0,
			rows_written: 0,
			window_ms: 20_000,
		});
		load.count("alarms");
		expect(load.take(41_000, meter)).toBeNull();
		load.count("rpc_stats");
		expect(load.take(42_000, meter)).toMatchObject({ rpc_stats: 1, window_ms: 1_000 });
	});

	it("carries the matches and the rows written since the previous line, also across quiet intervals", () => {
		const load = new LoadStats(0);
		const meter = rows(7);
		load.matched();
		load.matched();
		// A match made by the alarm alone (an interest window that ended) is worth a line.
		load.count("alarms");
		expect(load.take(20_000, meter)).toMatchObject({ matches: 2, rows_written: 7, alarms: 1, frames: 0 });
		// A quiet sweep makes no line and leaves its rows (its own alarm) for the next one.
		meter.add(1);
		load.count("alarms");
		expect(load.take(40_000, meter)).toBeNull();
		meter.add(3);
		load.count("rpc_chat");
		expect(load.take(60_000, meter)).toMatchObject({ matches: 0, rows_written: 4, rpc_chat: 1, window_ms: 20_000 });
		expect(meter.take()).toBe(0);
	});
});
