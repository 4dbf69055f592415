// Silent clients: a client that vanishes without a close frame (its process
// stopped, or its network blackholed) is noticed by the server's heartbeat
// (the runtime's auto-response timestamp, checked by an alarm) within twice
// the heartbeat interval. Its chat partner is told it went offline and, after
// the grace period, that the chat ended; a waiting user leaves the queue.
// A client that only ever sends the exact ping frame (answered by the
// runtime, never seen by the object) stays connected throughout.
import { spawn } from "node:child_process";
import { once } from "node:events";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { FaultProxy } from "../../soak/proxy";
import type { DevServer } from "../e2e/dev-server";
import { initUser, joinQueue, openChat, STATS_LAG_MS, useDevServer } from "../e2e/helpers";
import { closeAllClients, connect } from "../e2e/ws-client";
import { writeFigures } from "./figures";
import { type Stats, statsOf } from "./helpers";

const HEARTBEAT_TIMEOUT_MS = 2_000;
const SWEEP_MS = 500;
const GRACE_MS = 1_500;
/** "Within twice the heartbeat interval": heartbeat timeout plus one sweep, twice. */
const NOTICE_WITHIN_MS = 2 * (HEARTBEAT_TIMEOUT_MS + SWEEP_MS);
/** Scheduling slack for alarms on a loaded 2-core machine. */
const SLACK_MS = 1_000;
/** Live clients ping this often, with the exact ping frame. */
const PING_EVERY_MS = 400;

const server = useDevServer({
	vars: {
		PER_IP_LIMITS: "off",
		HEARTBEAT_TIMEOUT_MS: String(HEARTBEAT_TIMEOUT_MS),
		SWEEP_MS: String(SWEEP_MS),
		GRACE_MS: String(GRACE_MS),
	},
});

const proxies: FaultProxy[] = [];
/** Measured delays (ms), for docs/RELIABILITY.md. */
const figures: Record<string, number> = {};
afterAll(() =>
	writeFigures("silent", {
		heartbeatTimeoutMs: HEARTBEAT_TIMEOUT_MS,
		sweepMs: SWEEP_MS,
		graceMs: GRACE_MS,
		noticeWithinMs: NOTICE_WITHIN_MS,
		...figures,
	}),
);
afterEach(async () => {
	await closeAllClients();
	await Promise.all(proxies.splice(0).map((p) => p.close()));
});

async function proxyTo(s: DevServer): Promise<{ proxy: FaultProxy; wsUrl: string }> {
	const proxy = await FaultProxy.listen(s.port);
	proxies.push(proxy);
	return { proxy, wsUrl: `ws://127.0.0.1:${proxy.port}` };
}

const statsUntil = (what: string, ok: (s: Stats) => boolean, timeoutMs: number) =>
	statsOf(server.baseUrl).until(what, ok, timeoutMs);

describe("silent clients", () => {
	it("a chat partner whose network goes dark is reported offline within 2 × (timeout + sweep), then the chat ends after the grace", async () => {
		const { proxy, wsUrl } = await proxyTo(server);
		const alive = { keepAliveMs: PING_EVERY_MS };
		// A goes through the proxy, B straight to the server; both ping with the exact frame only.
		const a = await initUser({ ...server, wsUrl }, undefined, alive);
		const b = await initUser(server, undefined, alive);
		joinQueue(a, "male", "any", ["silent-chat"]);
		await a.lobby.expect("queue_joined");
		joinQueue(b, "female", "any", ["silent-chat"]);
		await b.lobby.expect("queue_joined");
		const [matchA, matchB] = await Promise.all([a.lobby.expect("match_found"), b.lobby.expect("match_found")]);
		expect(new URL(matchA.chat_url).port).toBe(String(proxy.port));
		const chatA = await openChat(matchA.chat_url, undefined, alive);
		await chatA.expect("chat_joined");
		const chatB = await openChat(matchB.chat_url, undefined, alive);
		await chatB.expect("chat_joined");
		await chatA.expect("partner_status");

		const darkAt = Date.now();
		proxy.hold("up");
		proxy.hold("down");
		expect(await chatB.expect("partner_status", NOTICE_WITHIN_MS + SLACK_MS)).toEqual({ online: false });
		const noticedAfter = Date.now() - darkAt;
		// Not before the heartbeat timeout: A's last ping was at most PING_EVERY_MS before the dark.
		expect(noticedAfter).toBeGreaterThanOrEqual(HEARTBEAT_TIMEOUT_MS - PING_EVERY_MS - 50);
		expect(noticedAfter).toBeLessThanOrEqual(NOTICE_WITHIN_MS + SLACK_MS);

		figures.chatPartnerOfflineAfterMs = noticedAfter;
		const offlineAt = Date.now();
		expect(await chatB.expect("chat_ended", GRACE_MS + SWEEP_MS + SLACK_MS)).toEqual({
			chat_id: matchA.chat_id,
			reason: "partner_disconnected",
		});
		figures.chatEndedAfterOfflineMs = Date.now() - offlineAt;
		expect(Date.now() - offlineAt).toBeGreaterThanOrEqual(GRACE_MS - 100);
		expect((await chatB.closed()).code).toBe(1000);
		// A's socket was closed by the server, not by A: once the network is back, A reads it.
		proxy.release();
		const closeA = await chatA.closed(5_000);
		expect([1001, 1000, 1006]).toContain(closeA.code);
	});

	it("a waiting user whose network goes dark leaves the queue; a newcomer is not matched with it", async () => {
		const before = await statsUntil("an empty queue", (s) => s.waiting === 0, 10_000);
		const { proxy, wsUrl } = await proxyTo(server);
		const dark = await initUser({ ...server, wsUrl }, undefined, { keepAliveMs: PING_EVERY_MS });
		joinQueue(dark, "other", "other", ["silent-queue"]);
		await dark.lobby.expect("queue_joined");
		await statsUntil("the dark user waiting", (s) => s.waiting === before.waiting + 1, STATS_LAG_MS + 3_000);

		const darkAt = Date.now();
		proxy.hold("up");
		proxy.hold("down");
		// Gone from the queue within 2 × (timeout + sweep), as the (up to 2 s old) stats show.
		await statsUntil(
			"the dark user out of the queue",
			(s) => s.waiting === before.waiting,
			NOTICE_WITHIN_MS + STATS_LAG_MS + SLACK_MS,
		);
		figures.blackholedWaiterOutOfQueueAfterMs = Date.now() - darkAt; // as seen through stats cached up to 2 s
		expect(Date.now() - darkAt).toBeGreaterThanOrEqual(HEARTBEAT_TIMEOUT_MS - PING_EVERY_MS - 50);

		// A compatible newcomer waits alone instead of being matched with the dead socket.
		const newcomer = await initUser(server, undefined, { keepAliveMs: PING_EVERY_MS });
		joinQueue(newcomer, "other", "other", ["silent-queue"]);
		expect(await newcomer.lobby.expect("queue_joined")).toEqual({ waiting: before.waiting + 1 });
		await newcomer.lobby.expectSilence(1_000);
		newcomer.lobby.send({ type: "leave_queue", payload: {} });
		await newcomer.lobby.expect("queue_left");
		proxy.release();
		expect((await dark.lobby.closed(5_000)).code).toBe(1001);
	});

	it("a waiting user whose process is stopped leaves the queue within 2 × (timeout + sweep)", async () => {
		const before = await statsUntil("an empty queue", (s) => s.waiting === 0, 10_000);
		// A separate Node process: lobby socket, init, join_queue, exact pings; then it is stopped (SIGSTOP).
		const script = `
			const ws = new WebSocket(${JSON.stringify(`${server.wsUrl}/ws`)});
			ws.onopen = () => {
				ws.send(JSON.stringify({ type: "init" }));
				ws.send(JSON.stringify({ type: "join_queue", payload: { gender: "male", preference: "male", interests: ["silent-process"] } }));
				setInterval(() => ws.send('{"type":"ping"}'), ${PING_EVERY_MS});
			};
			ws.onmessage = (e) => { if (String(e.data).includes("queue_joined")) console.log("queued"); };
			setTimeout(() => process.exit(2), 60000);
		`;
		const child = spawn(process.execPath, ["-e", script], { stdio: ["ignore", "pipe", "inherit"] });
		const pid = child.pid;
		if (pid === undefined) throw new Error("could not start the client process");
		try {
			const queued = new Promise<void>((resolve, reject) => {
				const timer = setTimeout(() => reject(new Error("the client process never reported queue_joined")), 10_000);
				child.stdout?.on("data", (chunk: Buffer) => {
					if (chunk.toString().includes("queued")) {
						clearTimeout(timer);
						resolve();
					}
				});
			});
			await queued;
			await statsUntil("the process's user waiting", (s) => s.waiting === before.waiting + 1, STATS_LAG_MS + 3_000);
			const stoppedAt = Date.now();
			process.kill(pid, "SIGSTOP");
			await statsUntil(
				"the stopped user out of the queue",
				(s) => s.waiting === before.waiting,
				NOTICE_WITHIN_MS + STATS_LAG_MS + SLACK_MS,
			);
			figures.stoppedWaiterOutOfQueueAfterMs = Date.now() - stoppedAt; // as seen through stats cached up to 2 s
			expect(Date.now() - stoppedAt).toBeGreaterThanOrEqual(HEARTBEAT_TIMEOUT_MS - PING_EVERY_MS - 50);
			// And a compatible newcomer is not matched with it.
			const newcomer = await connect(`${server.wsUrl}/ws`, { keepAliveMs: PING_EVERY_MS });
			newcomer.send({ type: "init" });
			await newcomer.expect("ready");
			newcomer.send({
				type: "join_queue",
				payload: { gender: "male", preference: "male", interests: ["silent-process"] },
			});
			expect(await newcomer.expect("queue_joined")).toEqual({ waiting: before.waiting + 1 });
			await newcomer.expectSilence(1_000);
		} finally {
			// Only the process started here, by its id.
			process.kill(pid, "SIGKILL");
			if (child.exitCode === null && child.signalCode === null) await once(child, "exit");
		}
	});

	it("a client that sends nothing but the exact ping frame is never taken for silent", async () => {
		const user = await initUser(server, undefined, { keepAliveMs: PING_EVERY_MS });
		joinQueue(user, "female", "female", ["silent-control"]);
		await user.lobby.expect("queue_joined");
		// Three heartbeat timeouts: only pongs arrive (swallowed by keepAlive), the socket stays open.
		await user.lobby.expectSilence(3 * HEARTBEAT_TIMEOUT_MS);
		expect(user.lobby.isOpen).toBe(true);
		expect(user.lobby.pongs).toBeGreaterThan((3 * HEARTBEAT_TIMEOUT_MS) / PING_EVERY_MS - 3);
		user.lobby.send({ type: "leave_queue", payload: {} });
		await user.lobby.expect("queue_left");
	});
});
