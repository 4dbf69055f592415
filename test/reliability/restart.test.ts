// Server restarts mid-chat: `wrangler dev` is stopped (its whole process
// group) and started again on the same port with the same --persist-to
// directory, twice, while three pairs of FlamingoClients chat: one pair whose
// clients both send delivery receipts, one pair of older clients that never
// do (their `received` frames are dropped before the wire), and a mixed pair.
// A deploy drops every socket in production the same way. The clients must
// come back by themselves, to the same chats; every acked message (acked
// through a receipt, without a write, or stored first) must be shown once by
// its recipient, in id order, and nothing may be lost, duplicated (after the
// client's dedupe of copies resent after a restart) or reordered.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { check, FAILING, type Restart } from "../../soak/checker";
import { SoakClient } from "../../soak/client";
import { FaultProxy } from "../../soak/proxy";
import { type DevServer, freePort, startDevServer } from "../e2e/dev-server";
import { writeFigures } from "./figures";
import { browserClient, closeTabs, openTab, pair, sleep, until } from "./helpers";

/** Who sends receipts, pair by pair: both, neither (older clients), mixed. */
const PAIRS: readonly [boolean, boolean][] = [
	[true, true],
	[false, false],
	[true, false],
];
const RESTARTS = 2;
/** Each user sends a message this often, throughout. */
const TYPE_EVERY_MS = 500;
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

/** Polls `ok` every 100 ms until it holds, or fails with `what` after `timeoutMs`. */
async function eventually(what: string, ok: () => boolean, timeoutMs: number, detail: () => string): Promise<number> {
	const started = Date.now();
	while (!ok()) {
		if (Date.now() - started > timeoutMs)
			throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}: ${detail()}`);
		await sleep(100);
	}
	return Date.now() - started;
}

const states = () =>
	clients
		.map(
			(c) =>
				`${c.name}${c.receipts ? "" : "(older)"}:${c.snapshot.phase}/${c.snapshot.connected}/${c.snapshot.partnerOnline}/unacked ${c.unacked}/acks ${c.acks.length}`,
		)
		.join(" ");
const acks = () => clients.map((c) => c.acks.length);
const allBack = () =>
	clients.every((c) => c.snapshot.phase === "chatting" && c.snapshot.connected && c.snapshot.partnerOnline);

it("chats busy through two restarts, with clients that send receipts and older ones that do not: every acked message shown once, in order", async () => {
	const FlamingoClient = await browserClient();
	for (const [k, kinds] of PAIRS.entries()) {
		for (const [j, receipts] of kinds.entries()) {
			// A proxy per client (no faults here): it outlives the server, like a user's network.
			const proxy = await FaultProxy.listen(port);
			proxies.push(proxy);
			clients.push(
				new SoakClient(`r${2 * k + j}`, {
					FlamingoClient,
					proxy,
					prefs: { gender: j === 0 ? "female" : "male", preference: "any" },
					pingIntervalMs: 25_000,
					receipts,
				}),
			);
		}
	}
	// Pairs as planned: the second of a pair joins once the first waits.
	for (let k = 0; k < PAIRS.length; k++) {
		const first = clients[2 * k] as SoakClient;
		const second = clients[2 * k + 1] as SoakClient;
		first.start();
		await eventually("the first of a pair waiting", () => first.snapshot.phase === "waiting", 20_000, states);
		second.start();
		await eventually(
			"the pair chatting",
			() => [first, second].every((c) => c.snapshot.phase === "chatting" && c.snapshot.connected),
			20_000,
			states,
		);
		expect(first.snapshot.transcript?.chatId).toBe(second.snapshot.transcript?.chatId);
	}
	const chatsBefore = new Set(clients.map((c) => c.snapshot.transcript?.chatId));
	expect(chatsBefore.size).toBe(PAIRS.length);

	// Users type twice a second each, throughout.
	let typing = true;
	const typist = (async () => {
		while (typing) {
			for (const c of clients) c.send();
			await sleep(TYPE_EVERY_MS);
		}
	})();

	const restarts: Restart[] = [];
	const figures: { stopMs: number; downMs: number; clientsBackMs: number; ackedBefore: number }[] = [];
	try {
		for (let r = 0; r < RESTARTS; r++) {
			// Busy: every client has had a few more of its messages acked since the last restart.
			const base = acks();
			await eventually(
				"three more acks for every client",
				() => acks().every((n, i) => n >= (base[i] ?? 0) + 3),
				30_000,
				states,
			);
			const ackedBefore = clients.reduce((n, c) => n + c.acks.length, 0);
			// The restart: the whole process group goes, then the same port and state come back.
			const downAt = Date.now();
			await server?.stop();
			const stopMs = Date.now() - downAt;
			server = await startDevServer({ port, persistTo, vars: VARS });
			const upAt = Date.now();
			restarts.push({ downAt, upAt });
			// Every client back in its chat by itself.
			const clientsBackMs = await eventually("every client back in its chat", allBack, 60_000, states);
			figures.push({ stopMs, downMs: upAt - downAt, clientsBackMs, ackedBefore });
		}
		// Busy again after the last restart, then the users stop typing.
		const base = acks();
		await eventually(
			"three more acks for every client",
			() => acks().every((n, i) => n >= (base[i] ?? 0) + 3),
			30_000,
			states,
		);
	} finally {
		typing = false;
		await typist;
	}
	await eventually("every message acked", () => clients.every((c) => c.unacked === 0), 30_000, states);
	// Every acked message shown by its recipient: what the pages show, not only what the checker reads.
	const acked = (c: SoakClient) => {
		const mine = new Set(c.acks.map((a) => a.clientMsgId));
		return c.sends.filter((s) => mine.has(s.clientMsgId)).map((s) => s.content);
	};
	const partnerOf = (i: number) => clients[i % 2 === 0 ? i + 1 : i - 1] as SoakClient;
	const shown = (c: SoakClient) => (c.snapshot.transcript?.messages ?? []).filter((m) => !m.mine);
	await eventually(
		"every acked message shown by its recipient",
		() =>
			clients.every((c, i) => {
				const got = new Set(shown(partnerOf(i)).map((m) => m.content));
				return acked(c).every((content) => got.has(content));
			}),
		15_000,
		states,
	);
	for (const [i, c] of clients.entries()) {
		const messages = shown(partnerOf(i));
		const contents = messages.map((m) => m.content);
		// Once each, in id order, and nothing the sender did not have acked.
		expect(new Set(contents).size, `${partnerOf(i).name} shows a message twice`).toBe(contents.length);
		const ids = messages.map((m) => m.messageId ?? 0);
		expect(ids, `${partnerOf(i).name} shows messages out of id order`).toEqual([...ids].sort((x, y) => x - y));
		expect(contents.sort()).toEqual(acked(c).sort());
	}

	const chatsAfter = new Set(clients.map((c) => c.snapshot.transcript?.chatId));
	expect(chatsAfter).toEqual(chatsBefore);
	for (const c of clients) expect(c.endReasons.size, `${c.name} saw its chat end`).toBe(0);

	const now = Date.now();
	for (const c of clients) c.freeze(now);
	const verdict = check(
		clients.map((c) => c.log()),
		{ restarts },
	);
	// As one line, so that the first line of a failure (all that CI's tail keeps) says what went wrong.
	const problems = verdict.problems.map((p) => `${p.kind} ${p.from}→${p.to} #${p.messageId ?? "-"}: ${p.detail}`);
	expect(problems.join("; ")).toBe("");
	// No failing kind at all (lost, duplicated, reordered…), and no message excused.
	expect(verdict.totals).toMatchObject({ ...Object.fromEntries(FAILING.map((kind) => [kind, 0])), excluded: 0 });
	expect(verdict.chats).toBe(PAIRS.length);
	// Both ways of being acked were taken: through the receipt of a client that
	// sends them, and only after a write for an older client.
	const toKind = (receipts: boolean) =>
		verdict.perDirection
			.filter((d) => clients.find((c) => c.name === d.to)?.receipts === receipts)
			.reduce((n, d) => ({ acked: n.acked + d.counts.acked, viaReceipt: n.viaReceipt + d.counts.ackedViaReceipt }), {
				acked: 0,
				viaReceipt: 0,
			});
	const toConfirming = toKind(true);
	const toOlder = toKind(false);
	expect(toConfirming.viaReceipt).toBeGreaterThan(0);
	expect(toOlder.acked).toBeGreaterThan(0);
	expect(toOlder.viaReceipt).toBe(0);
	// And the restarts found messages delivered but not yet acked (an older
	// client's wait up to 1 s for a receipt that never comes, at two messages a
	// second: a few per restart): resent, they came again under a new id, and
	// the recipients' clients dropped every such copy (checked above: shown once).
	expect(verdict.totals.copies).toBeGreaterThan(0);
	expect(verdict.totals.droppedCopies).toBe(verdict.totals.copies);
	await writeFigures("restart", {
		pairs: PAIRS.map(([x, y]) => (x && y ? "both send receipts" : !x && !y ? "neither does" : "mixed")),
		restarts: figures,
		acked: verdict.totals.acked,
		ackedViaReceipt: verdict.totals.ackedViaReceipt,
		ackedToOlderClients: toOlder.acked,
		delivered: verdict.totals.delivered,
		copies: verdict.totals.copies,
		droppedCopies: verdict.totals.droppedCopies,
	});
});

it("after a restart, a chat whose other user never comes back ends partner_disconnected after the grace period", async () => {
	// Long enough for B's return on a loaded machine: the ChatRoom's sweep alarm can wake it (and
	// start the grace) as soon as workerd runs, seconds before the proxy answers and B gets through.
	const GRACE_MS = 15_000;
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
