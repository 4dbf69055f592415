// Server restart mid-chat: `wrangler dev` is stopped (its whole process group)
// and started again on the same port with the same --persist-to directory,
// while three pairs of FlamingoClients chat. A deploy drops every socket in
// production the same way. The clients must come back by themselves, to the
// same chats, and no acked message may be lost, duplicated or reordered.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { check } from "../../soak/checker";
import { SoakClient } from "../../soak/client";
import { FaultProxy } from "../../soak/proxy";
import { type DevServer, freePort, startDevServer } from "../e2e/dev-server";
import { writeFigures } from "./figures";
import { browserClient, closeTabs, openTab, pair, sleep, until } from "./helpers";

const PAIRS = 3;
const VARS = { PER_IP_LIMITS: "off" };

let persistTo = "";
let port = 0;
let server: DevServer | null = null;
const proxies: FaultProxy[] = [];
const clients: SoakClient[] = [];

beforeAll(async () => {
	persistTo = await mkdtemp(join(tmpdir(), "flamingo-restart-"));
	port = await freePort();
	server = await startDevServer({ port, persistTo, vars: VARS });
});

afterAll(async () => {
	for (const c of clients) c.freeze(Date.now());
	await Promise.all(proxies.map((p) => p.close()));
	await server?.stop();
	await rm(persistTo, { recursive: true, force: true });
});

/** Polls `ok` every 200 ms until it holds, or fails with `what` after `timeoutMs`. */
async function eventually(what: string, ok: () => boolean, timeoutMs: number, detail: () => string): Promise<number> {
	const started = Date.now();
	while (!ok()) {
		if (Date.now() - started > timeoutMs)
			throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}: ${detail()}`);
		await sleep(200);
	}
	return Date.now() - started;
}

const states = () => clients.map((c) => `${c.name}:${c.snapshot.phase}/${c.snapshot.connected}/${c.unacked}`).join(" ");

it("clients reconnect by themselves after a restart, to the same chats, and no acked message is lost", async () => {
	const FlamingoClient = await browserClient();
	for (let i = 0; i < PAIRS * 2; i++) {
		// A proxy per client (no faults here): it outlives the server, like a user's network.
		const proxy = await FaultProxy.listen(port);
		proxies.push(proxy);
		clients.push(
			new SoakClient(`r${i}`, {
				FlamingoClient,
				proxy,
				prefs: { gender: i % 2 === 0 ? "female" : "male", preference: "any" },
				pingIntervalMs: 25_000,
			}),
		);
	}
	for (const c of clients) {
		c.start();
		await sleep(100);
	}
	await eventually(
		"every client chatting",
		() => clients.every((c) => c.snapshot.phase === "chatting" && c.snapshot.connected),
		20_000,
		states,
	);
	const chatsBefore = new Set(clients.map((c) => c.snapshot.transcript?.chatId));
	expect(chatsBefore.size).toBe(PAIRS);

	// Users type about twice a second each, throughout.
	let typing = true;
	const typist = (async () => {
		while (typing) {
			for (const c of clients) c.send();
			await sleep(500);
		}
	})();
	await sleep(3_000);
	const ackedBefore = clients.reduce((n, c) => n + c.acks.length, 0);
	expect(ackedBefore).toBeGreaterThan(PAIRS * 2 * 3);

	// The restart: the whole process group goes, then the same port and state come back.
	const stoppedAt = Date.now();
	await server?.stop();
	const stopMs = Date.now() - stoppedAt;
	server = await startDevServer({ port, persistTo, vars: VARS });
	const upMs = Date.now() - stoppedAt;

	// Every client back in its chat by itself, everything sent meanwhile acked.
	const backMs = await eventually(
		"every client back in its chat",
		() => clients.every((c) => c.snapshot.phase === "chatting" && c.snapshot.connected && c.snapshot.partnerOnline),
		60_000,
		states,
	);
	const ackedAtReturn = clients.reduce((n, c) => n + c.acks.length, 0);
	await sleep(3_000);
	typing = false;
	await typist;
	await eventually("every message acked", () => clients.every((c) => c.unacked === 0), 20_000, states);
	const ackedAfter = clients.reduce((n, c) => n + c.acks.length, 0);
	expect(ackedAfter).toBeGreaterThan(ackedAtReturn);
	// Let the last deliveries land.
	await eventually(
		"every acked message delivered",
		() => {
			const v = check(clients.map((c) => c.log()));
			return v.totals.acked > 0 && v.totals.delivered >= v.totals.acked;
		},
		10_000,
		states,
	);

	const chatsAfter = new Set(clients.map((c) => c.snapshot.transcript?.chatId));
	expect(chatsAfter).toEqual(chatsBefore);
	for (const c of clients) expect(c.endReasons.size, `${c.name} saw its chat end`).toBe(0);

	const now = Date.now();
	for (const c of clients) c.freeze(now);
	const verdict = check(clients.map((c) => c.log()));
	expect(verdict.problems).toEqual([]);
	expect(verdict.totals).toMatchObject({ lost: 0, duplicated: 0, reordered: 0, leaked: 0, mismatched: 0, excluded: 0 });
	expect(verdict.chats).toBe(PAIRS);
	await writeFigures("restart", {
		pairs: PAIRS,
		stopMs,
		downMs: upMs,
		clientsBackAfterServerUpMs: backMs,
		acked: verdict.totals.acked,
		ackedBeforeRestart: ackedBefore,
		delivered: verdict.totals.delivered,
	});
});

it("after a restart, a chat whose other user never comes back ends partner_disconnected after the grace period", async () => {
	const GRACE_MS = 5_000;
	const SWEEP_MS = 1_000;
	const vars = { PER_IP_LIMITS: "off", GRACE_MS: String(GRACE_MS), SWEEP_MS: String(SWEEP_MS) };
	const dir = await mkdtemp(join(tmpdir(), "flamingo-restart-"));
	const p = await freePort();
	let s = await startDevServer({ port: p, persistTo: dir, vars });
	try {
		const a = await openTab({ port: p });
		// B must be back within the grace period, which the restart started for
		// both members (every socket dropped): retries at most 1 s apart, not
		// partysocket's default 10 s, so that a slow restart cannot outlast it.
		const b = await openTab({ port: p, minReconnectDelayMs: 200, maxReconnectDelayMs: 1_000 });
		await pair(a, b);
		const stoppedAt = Date.now();
		await s.stop();
		// A's tab is closed while the server is down: A never comes back.
		a.client.close();
		s = await startDevServer({ port: p, persistTo: dir, vars });
		await until(b.client, "B back in the chat", (x) => x.phase === "chatting" && x.connected, 30_000);
		expect(b.client.snapshot.partnerOnline).toBe(false);
		const ended = await until(
			b.client,
			"the chat to end without A",
			(x) => x.phase === "ended",
			GRACE_MS + 2 * SWEEP_MS + 10_000,
		);
		expect(ended.endReason).toBe("partner_disconnected");
		// The grace period cannot have started before the server went down.
		expect(Date.now() - stoppedAt).toBeGreaterThanOrEqual(GRACE_MS);
	} finally {
		await closeTabs();
		await s.stop();
		await rm(dir, { recursive: true, force: true });
	}
});
