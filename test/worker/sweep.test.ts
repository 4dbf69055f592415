// The Matchmaker's sweep of silent sockets walks every socket in slices (so that
// joins are not held up behind one long walk): every slice must be walked.
import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { Matchmaker } from "../../src/app/matchmaker/matchmaker";
import { lobbyName, lobbyStub, openLobby, type TestSocket } from "./helpers";

/** More than two slices of the sweep (SWEEP_SLICE is 500). */
const SOCKETS = 1_100;

describe("sweep of silent lobby sockets", () => {
	it(`closes every silent socket of ${SOCKETS}, past the first slices, with 1001; the lobby still answers`, async () => {
		const name = lobbyName();
		const stub = lobbyStub(name);
		// These sockets never say init: their 10 s deadline must not close them first on a slow machine.
		await runInDurableObject(stub, (lobby: Matchmaker) => {
			(lobby as unknown as { timings: { initTimeoutMs: number } }).timings.initTimeoutMs = 600_000;
		});
		const silent: TestSocket[] = [];
		for (let i = 0; i < SOCKETS; i++) silent.push(await openLobby(name));
		// Everyone counts as silent from now on, and the sweep is due.
		await runInDurableObject(stub, (lobby: Matchmaker) => {
			const inner = lobby as unknown as { hub: { nextSweep: number }; timings: { heartbeatTimeoutMs: number } };
			inner.timings.heartbeatTimeoutMs = -1;
			inner.hub.nextSweep = 0;
		});
		expect(await runDurableObjectAlarm(stub)).toBe(true);
		const closes = await Promise.all(silent.map((s) => s.closed()));
		expect(closes.filter((c) => c.code === 1001 && c.reason === "heartbeat timeout")).toHaveLength(SOCKETS);

		// A newcomer after the sweep is served, and counts the swept as gone.
		const lobby = await openLobby(name);
		lobby.send({ type: "init" });
		expect((await lobby.expect("ready")).presence).toEqual({ online: 1, waiting: 0, chatting: 0 });
	});
});
