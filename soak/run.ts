// npm run soak [-- --quick] [--pairs N] [--seconds T] [--rate R] [--json] [--seed S]
//               [--fault-scale X] [--short-heartbeat | --real-heartbeat]
//               [--restarts N | --restart-at S[,S…]] [--older-clients F]
//               [--single-socket F] [--trace …]
//
// N pairs of FlamingoClients chat for T seconds against the real `npm run dev`
// (PER_IP_LIMITS off), each sending about one message a second (Poisson),
// while faults hit them through per-client TCP proxies (soak/fault.ts for the
// rates) and the dev server is restarted (stopped, its whole process group,
// and started again on the same port with the same state) a few times in the
// middle of the chats. A share F of the clients (default half) are "older
// clients" that never send delivery receipts, and a share (default a quarter)
// speak over one socket, /ws/single, as the original server's clients did,
// through the Worker's bridge. Then sending stops, blackholes
// and slow spells end, absent users return, and the run drains (bounded)
// until every client is settled. The checker (soak/checker.ts) then proves,
// per chat and direction, that every acked message was delivered and shown
// exactly once (after the client's dedupe), in message_id order, and that
// nothing crossed into another chat. The last line is the counts; the exit
// status is non-zero if any of lost, duplicated, reordered, replayed, leaked,
// mismatched or stuck is not zero, or if nothing was acked at all.
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { cpus, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { monitorEventLoopDelay } from "node:perf_hooks";
import { parseArgs } from "node:util";
import type { Gender } from "../src/protocol/schemas.ts";
import { type DevServer, freePort, startDevServer } from "../test/e2e/dev-server.ts";
import { check, type Restart, summaryLine, type Verdict } from "./checker.ts";
import { SoakClient } from "./client.ts";
import { DEFAULT_RATES, exponentialGap, type FaultKind, faultSchedule, seeded, uniform } from "./fault.ts";
import { loadFlamingoClient } from "./load-client.ts";
import { FaultProxy } from "./proxy.ts";

const { values: flags } = parseArgs({
	options: {
		quick: { type: "boolean", default: false },
		pairs: { type: "string" },
		seconds: { type: "string" },
		"restart-at": { type: "string" },
		restarts: { type: "string" },
		"older-clients": { type: "string" },
		"single-socket": { type: "string" },
		rate: { type: "string" },
		json: { type: "boolean", default: false },
		seed: { type: "string" },
		"fault-scale": { type: "string" },
		"short-heartbeat": { type: "boolean", default: false },
		"real-heartbeat": { type: "boolean", default: false },
		trace: { type: "string" },
	},
	strict: true,
});

function positive(name: string, text: string | undefined, fallback: number): number {
	if (text === undefined) return fallback;
	const n = Number(text);
	if (!Number.isFinite(n) || n <= 0) {
		console.error(`--${name} must be a positive number, not ${JSON.stringify(text)}`);
		process.exit(2);
	}
	return n;
}

const PAIRS = Math.round(positive("pairs", flags.pairs, flags.quick ? 50 : 500));
const SECONDS = positive("seconds", flags.seconds, flags.quick ? 45 : 600);
const SEED = Math.round(positive("seed", flags.seed, 1 + Math.floor(Math.random() * 2 ** 31)));
const FAULT_SCALE = positive("fault-scale", flags["fault-scale"], 1);
function nonNegative(name: string, text: string | undefined, fallback: number, max = Number.POSITIVE_INFINITY): number {
	if (text === undefined) return fallback;
	const n = Number(text);
	if (!Number.isFinite(n) || n < 0 || n > max) {
		console.error(`--${name} must be a number from 0 to ${max}, not ${JSON.stringify(text)}`);
		process.exit(2);
	}
	return n;
}

/**
 * When to stop and start the dev server (same port, same state: a deploy),
 * in seconds into the run: `--restart-at 20,40`, or `--restarts N` spread
 * evenly over the run (default 3 for a full run, 2 for --quick; 0 for none).
 */
const RESTARTS_AT: number[] = (() => {
	if (flags["restart-at"] !== undefined) {
		if (flags.restarts !== undefined) {
			console.error("--restart-at and --restarts exclude each other");
			process.exit(2);
		}
		const list = flags["restart-at"].split(",").map((t) => positive("restart-at", t.trim(), 1));
		return list.sort((a, b) => a - b);
	}
	const n = Math.round(nonNegative("restarts", flags.restarts, flags.quick ? 2 : 3));
	return Array.from({ length: n }, (_, i) => Number(((SECONDS * (i + 1)) / (n + 1)).toFixed(1)));
})();
/** A restart begins at least this long after the one before was up again. */
const MIN_RESTART_GAP_MS = 8_000;
/** Share of clients that never send delivery receipts (older clients). */
const OLDER_SHARE = nonNegative("older-clients", flags["older-clients"], 0.5, 1);
/** Share of clients on one socket (`/ws/single`, FlamingoClient's `singleSocket`). */
const SINGLE_SHARE = nonNegative("single-socket", flags["single-socket"], 0.25, 1);
/**
 * The quick run shortens the server's heartbeat (and the clients' pings) so
 * that a blackhole of 5–30 s is noticed by the server within the run; the
 * grace period stays the protocol's 30 s. The full run keeps every default.
 */
const SHORT_HEARTBEAT = flags["short-heartbeat"] || (flags.quick && !flags["real-heartbeat"]);
const HEARTBEAT = SHORT_HEARTBEAT
	? { timeoutMs: 8_000, sweepMs: 2_000, pingMs: 3_000 }
	: { timeoutMs: 40_000, sweepMs: 20_000, pingMs: 25_000 };
/** Messages per second per client while chatting (Poisson). */
const MESSAGES_PER_SEC = positive("rate", flags.rate, 1);
/** Clients start spread over this long, so the first matches are not one burst. */
const RAMP_MS = Math.min(10_000, (SECONDS * 1000) / 5);
/** Long enough for a partner gone past the 30 s grace to be dropped, and the backoff to reconnect. */
const DRAIN_MAX_MS = 90_000;
/** Beyond these the generator itself is the bottleneck and the run's figures are suspect. */
const GENERATOR_LIMITS = { eventLoopP99Ms: 100, cpuShareOfOneCore: 0.8 };
/** Share of clients that read slowly for the whole run. */
const SLOW_READERS = 0.04;

const human = flags.json ? console.error : console.log;
const random = seeded(SEED);
const startedAt = Date.now();
const since = () => ((Date.now() - startedAt) / 1000).toFixed(1);

// ---- machine load -----------------------------------------------------------------

/** Busy share of all cores since the last call, from /proc/stat (Linux). */
function cpuSampler(): () => number | null {
	const read = (): { busy: number; total: number } | null => {
		try {
			const line = readFileSync("/proc/stat", "utf8").split("\n")[0] ?? "";
			const n = line.trim().split(/\s+/).slice(1).map(Number);
			const idle = (n[3] ?? 0) + (n[4] ?? 0);
			const total = n.reduce((a, b) => a + b, 0);
			return { busy: total - idle, total };
		} catch {
			return null;
		}
	};
	let last = read();
	return () => {
		const now = read();
		if (!now || !last || now.total === last.total) return null;
		const share = (now.busy - last.busy) / (now.total - last.total);
		last = now;
		return share;
	};
}

// ---- the run ----------------------------------------------------------------------

interface Ledger {
	/** chat → client_msg_id → sender, for everything acked. */
	acked: Map<string, Map<string, string>>;
	/** chat → recipient → client_msg_ids delivered (any copy). */
	delivered: Map<string, Map<string, Set<string>>>;
}

/** Acked messages of the partner not yet delivered to `client` in the chat it is in now. */
function pendingFor(client: SoakClient, ledger: Ledger): number {
	const chatId = client.snapshot.transcript?.chatId;
	if (!chatId) return 0;
	const got = ledger.delivered.get(chatId)?.get(client.name);
	let pending = 0;
	for (const [key, sender] of ledger.acked.get(chatId) ?? []) {
		if (sender !== client.name && !got?.has(key)) pending++;
	}
	return pending;
}

/** p-th percentile of sorted numbers (null if none). */
function percentile(sorted: readonly number[], p: number): number | null {
	return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? null;
}

interface RestartRecord {
	/** Seconds into the run it was planned for, and when it began. */
	plannedAt: number;
	at: number;
	/** Stopping the process group (SIGTERM, SIGKILL after 10 s), then from that to /api/health answering again. */
	stopMs: number;
	downMs: number;
	/** Clients chatting and connected just before it. */
	chattingBefore: number;
	/** From the server being up to 95 % (and all) of those being chatting and connected again (null: not within 60 s, or the run ended first). */
	back95Ms: number | null;
	backAllMs: number | null;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

async function main(): Promise<number> {
	const clients = PAIRS * 2;
	human(
		`soak: ${PAIRS} pairs (${clients} clients) for ${SECONDS} s at ${MESSAGES_PER_SEC} msg/s each, seed ${SEED}, ` +
			`fault scale ${FAULT_SCALE}, heartbeat ${HEARTBEAT.timeoutMs}/${HEARTBEAT.sweepMs} ms ` +
			`(client ping every ${HEARTBEAT.pingMs} ms), grace 30 s; ${Math.round(OLDER_SHARE * 100)} % older clients, ` +
			`${Math.round(SINGLE_SHARE * 100)} % on one socket; ` +
			`restarts at ${RESTARTS_AT.length > 0 ? `${RESTARTS_AT.join(", ")} s` : "none"}; ${cpus().length} cores`,
	);
	const FlamingoClient = await loadFlamingoClient();
	const vars: Record<string, string> = { PER_IP_LIMITS: "off" };
	if (SHORT_HEARTBEAT) {
		vars.HEARTBEAT_TIMEOUT_MS = String(HEARTBEAT.timeoutMs);
		vars.SWEEP_MS = String(HEARTBEAT.sweepMs);
	}
	let server: DevServer | null = null;
	/** Reloads of the Worker seen by the servers stopped so far (a restart replaces the server). */
	let reloadsBefore = 0;
	let persistTo: string | null = null;
	const proxies: FaultProxy[] = [];
	const soakers: SoakClient[] = [];
	const timers = new Set<NodeJS.Timeout>();
	const later = (ms: number, fn: () => void) => {
		const t = setTimeout(() => {
			timers.delete(t);
			fn();
		}, ms);
		timers.add(t);
	};
	const cleanup = async () => {
		for (const t of timers) clearTimeout(t);
		timers.clear();
		for (const s of soakers) s.freeze(Date.now());
		await Promise.all(proxies.map((p) => p.close()));
		await server?.stop();
		if (persistTo) await rm(persistTo, { recursive: true, force: true });
	};
	const onSignal = () => {
		void cleanup().finally(() => process.exit(130));
	};
	process.once("SIGINT", onSignal);
	process.once("SIGTERM", onSignal);

	try {
		// The run owns the port and the state directory, so that a restart finds both again.
		const port = await freePort();
		persistTo = await mkdtemp(join(tmpdir(), "flamingo-soak-"));
		server = await startDevServer({ vars, port, persistTo });
		human(`[${since()} s] dev server on ${server.baseUrl}`);

		const ledger: Ledger = { acked: new Map(), delivered: new Map() };
		const onAck = (chatId: string, sender: string, key: string) => {
			const m = ledger.acked.get(chatId) ?? new Map<string, string>();
			ledger.acked.set(chatId, m);
			m.set(key, sender);
		};
		const onDelivery = (chatId: string, recipient: string, key: string | undefined) => {
			if (key === undefined) return;
			const m = ledger.delivered.get(chatId) ?? new Map<string, Set<string>>();
			ledger.delivered.set(chatId, m);
			const s = m.get(recipient) ?? new Set<string>();
			m.set(recipient, s);
			s.add(key);
		};

		const genders: Gender[] = ["male", "female", "other"];
		const faultCounts = new Map<FaultKind, number>();
		let slowReaders = 0;
		let olderClients = 0;
		let singleClients = 0;
		for (let i = 0; i < clients; i++) {
			const proxy = await FaultProxy.listen(server.port);
			proxies.push(proxy);
			if (random() < SLOW_READERS || (i === 1 && slowReaders === 0)) {
				proxy.slow = { latencyMs: Math.round(uniform(random, 300, 1_500)), bytesPerSec: 2_000 };
				slowReaders++;
			}
			const gender = genders[Math.floor(random() * genders.length)] as Gender;
			const receipts = random() >= OLDER_SHARE;
			if (!receipts) olderClients++;
			const singleSocket = random() < SINGLE_SHARE;
			if (singleSocket) singleClients++;
			soakers.push(
				new SoakClient(`c${i}`, {
					FlamingoClient,
					proxy,
					prefs: { gender, preference: "any" },
					pingIntervalMs: HEARTBEAT.pingMs,
					receipts,
					singleSocket,
					onAck,
					onDelivery,
				}),
			);
		}

		const runMs = SECONDS * 1000;
		const loop = monitorEventLoopDelay({ resolution: 10 });
		const cpu = cpuSampler();
		const cpuBefore = process.cpuUsage();
		loop.enable();
		const runStart = Date.now();
		let sending = true;
		let sent = 0;

		for (const [i, soaker] of soakers.entries()) {
			const startAt = Math.round((RAMP_MS * i) / clients);
			later(startAt, () => soaker.start());
			// Messages: a Poisson process per client, from its start until the end of the run.
			const sendRate = MESSAGES_PER_SEC / 1000;
			const scheduleSend = (after: number) => {
				const gap = exponentialGap(random, sendRate);
				if (after + gap >= runMs) return;
				later(after + gap - (Date.now() - runStart), () => {
					if (!sending) return;
					if (soaker.send()) sent++;
					scheduleSend(Date.now() - runStart);
				});
			};
			scheduleSend(startAt);
			for (const fault of faultSchedule(random, DEFAULT_RATES, runMs - startAt, FAULT_SCALE)) {
				later(startAt + fault.at, () => {
					if (!sending || !soaker.fault(fault.kind, Date.now(), fault.durationMs, fault.slow)) return;
					faultCounts.set(fault.kind, (faultCounts.get(fault.kind) ?? 0) + 1);
				});
			}
		}
		const ticker = setInterval(() => {
			for (const s of soakers) s.tick();
		}, 1_000);

		// Progress, about every 15 s.
		const progress = setInterval(() => {
			const chatting = soakers.filter((s) => s.snapshot.phase === "chatting").length;
			const acked = soakers.reduce((n, s) => n + s.acks.length, 0);
			human(`[${since()} s] sent ${sent}, acks ${acked}, chatting ${chatting}/${clients}`);
		}, 15_000);

		// Restarts in the middle of the chats: the clients come back by themselves, through their proxies.
		const restarts: RestartRecord[] = [];
		const restartWindows: Restart[] = [];
		const watchers: Promise<void>[] = [];
		let lastUpAt = runStart;
		for (const plannedAt of RESTARTS_AT) {
			// A restart that could not begin on time (the one before took long) still
			// waits until the chats have been busy again for a while.
			const startAt = Math.max(runStart + plannedAt * 1000, lastUpAt + MIN_RESTART_GAP_MS);
			if (startAt >= runStart + runMs) break;
			await sleep(Math.max(0, startAt - Date.now()));
			const before = soakers.filter((s) => s.snapshot.phase === "chatting" && s.snapshot.connected);
			const downAt = Date.now();
			const at = Number(((downAt - runStart) / 1000).toFixed(1));
			human(
				`[${since()} s] restarting the dev server (same port, same state) ${at} s into the run, ${before.length} clients chatting`,
			);
			reloadsBefore += server.reloads();
			// Connection attempts wait at the proxies while the server is down, as at an
			// edge that stays up during a deploy, and go through once it answers again:
			// refused at once instead, they would all come back in one herd while the
			// server starts, and keep its health check unanswered (docs/RELIABILITY.md).
			for (const p of proxies) p.holdConnects();
			await server.stop();
			const stoppedAt = Date.now();
			try {
				server = await startDevServer({ vars, port, persistTo });
			} finally {
				for (const p of proxies) p.releaseConnects();
			}
			const upAt = Date.now();
			lastUpAt = upAt;
			restartWindows.push({ downAt, upAt });
			const record: RestartRecord = {
				plannedAt,
				at,
				stopMs: stoppedAt - downAt,
				downMs: upAt - downAt,
				chattingBefore: before.length,
				back95Ms: null,
				backAllMs: null,
			};
			restarts.push(record);
			human(`[${since()} s] dev server back after ${record.downMs} ms (stopping took ${record.stopMs} ms)`);
			// How long until the clients that were chatting are back (those still in a chat and
			// not away), watched for at most 60 s, until the next restart or the end of the run.
			const seq = restarts.length;
			watchers.push(
				(async () => {
					const until = Math.min(upAt + 60_000, runStart + runMs);
					while (Date.now() < until && record.backAllMs === null && restarts.length === seq) {
						const expected = before.filter((s) => s.snapshot.phase === "chatting" && !s.away);
						const back = expected.filter((s) => s.snapshot.connected).length;
						if (record.back95Ms === null && back >= 0.95 * expected.length) record.back95Ms = Date.now() - upAt;
						if (back === expected.length) record.backAllMs = Date.now() - upAt;
						else await sleep(250);
					}
				})(),
			);
		}
		await sleep(Math.max(0, runStart + runMs - Date.now()));
		await Promise.all(watchers);
		sending = false;
		const runCpu = process.cpuUsage(cpuBefore);
		const machineBusy = cpu();
		loop.disable();
		const runEnd = Date.now();
		for (const t of timers) clearTimeout(t);
		timers.clear();

		// Drain: no new messages or faults; blackholes end, absent users come back.
		for (const s of soakers) s.endFaults();
		const drainStart = Date.now();
		let settledFor = 0;
		for (;;) {
			await sleep(500);
			const unsettled = soakers.filter((s) => !s.settled).length;
			const pending = soakers.reduce(
				(n, s) => n + (s.snapshot.phase === "chatting" && s.snapshot.connected ? pendingFor(s, ledger) : 0),
				0,
			);
			settledFor = unsettled === 0 && pending === 0 ? settledFor + 1 : 0;
			if (settledFor >= 2 || Date.now() - drainStart > DRAIN_MAX_MS) break;
		}
		clearInterval(ticker);
		clearInterval(progress);
		const drainMs = Date.now() - drainStart;
		const stuck = soakers.filter((s) => !s.settled);
		const stuckStates = stuck.map((s) => ({ client: s.name, snapshot: brief(s) }));
		const undrained = soakers.reduce(
			(n, s) => n + (s.snapshot.phase === "chatting" && s.snapshot.connected ? pendingFor(s, ledger) : 0),
			0,
		);
		const freezeAt = Date.now();
		for (const s of soakers) s.freeze(freezeAt);

		const verdict = check(
			soakers.map((s) => s.log()),
			{ restarts: restartWindows },
		);
		const reloads = reloadsBefore + server.reloads();

		// Who sends receipts: clients, chats and acked messages by kind.
		const kindOf = new Map(soakers.map((s) => [s.name, s.receipts]));
		const chatMembers = new Map<string, string[]>();
		for (const s of soakers) {
			for (const c of s.log().chats) chatMembers.set(c.chatId, [...(chatMembers.get(c.chatId) ?? []), s.name]);
		}
		const chatsByKind = { bothConfirm: 0, neitherConfirms: 0, mixed: 0, unpaired: 0 };
		for (const names of chatMembers.values()) {
			if (names.length !== 2) chatsByKind.unpaired++;
			else {
				const confirming = names.filter((n) => kindOf.get(n)).length;
				if (confirming === 2) chatsByKind.bothConfirm++;
				else if (confirming === 0) chatsByKind.neitherConfirms++;
				else chatsByKind.mixed++;
			}
		}
		const ackedTo = {
			receiptSender: { acked: 0, viaReceipt: 0, delivered: 0, droppedCopies: 0 },
			olderClient: { acked: 0, viaReceipt: 0, delivered: 0, droppedCopies: 0 },
		};
		for (const d of verdict.perDirection) {
			const to = kindOf.get(d.to) ? ackedTo.receiptSender : ackedTo.olderClient;
			to.acked += d.counts.acked;
			to.viaReceipt += d.counts.ackedViaReceipt;
			to.delivered += d.counts.delivered;
			to.droppedCopies += d.counts.droppedCopies;
		}
		// The same by the recipient's socket mode: what reached one-socket clients, and what failed to.
		const singleOf = new Map(soakers.map((s) => [s.name, s.singleSocket]));
		const bySocket = {
			oneSocket: { acked: 0, delivered: 0, lost: 0, duplicated: 0, reordered: 0 },
			twoSockets: { acked: 0, delivered: 0, lost: 0, duplicated: 0, reordered: 0 },
		};
		for (const d of verdict.perDirection) {
			const to = singleOf.get(d.to) ? bySocket.oneSocket : bySocket.twoSockets;
			for (const k of Object.keys(to) as (keyof typeof to)[]) to[k] += d.counts[k];
		}
		const receiptsCount = soakers.reduce(
			(n, s) => ({ sent: n.sent + s.counters.receiptsSent, dropped: n.dropped + s.counters.receiptsDropped }),
			{ sent: 0, dropped: 0 },
		);

		// ---- report -----------------------------------------------------------------
		const endReasons = new Map<string, number>();
		const counters = { reloads: 0, sockets: 0, chatsJoined: 0, chatEnds: 0, errors: 0 };
		type Counter = keyof typeof counters;
		const errorCodes = new Map<string, number>();
		for (const s of soakers) {
			for (const [r, n] of s.endReasons) endReasons.set(r, (endReasons.get(r) ?? 0) + n);
			for (const [c, n] of s.errorCodes) errorCodes.set(c, (errorCodes.get(c) ?? 0) + n);
			for (const k of Object.keys(counters) as Counter[]) counters[k] += s.counters[k];
		}
		const ms = (ns: number) => Math.round(ns / 1e6);
		const all = soakers.flatMap((s) => s.ackLatencies);
		const latencies = all.map((l) => l.ms).sort((a, b) => a - b);
		const pct = (p: number) => percentile(latencies, p);
		const split = (viaReceipt: boolean) => {
			const sorted = all
				.filter((l) => (l.ack.viaReceipt === true) === viaReceipt)
				.map((l) => l.ms)
				.sort((a, b) => a - b);
			return { n: sorted.length, p50: percentile(sorted, 50), p99: percentile(sorted, 99) };
		};
		const generator = {
			eventLoopDelayMs: { p50: ms(loop.percentile(50)), p99: ms(loop.percentile(99)), max: ms(loop.max) },
			nodeCpuShareOfOneCore: Number(((runCpu.user + runCpu.system) / 1000 / (runEnd - runStart)).toFixed(2)),
			machineCpuBusy: machineBusy === null ? null : Number(machineBusy.toFixed(2)),
			loadavg1: Number((loadavg()[0] ?? 0).toFixed(2)),
			messagesSent: sent,
			messagesPerSec: Number((sent / ((runEnd - runStart) / 1000)).toFixed(1)),
			/** send() to ack, faults included: the server kept up if the median stays small. */
			ackMs: { p50: pct(50), p90: pct(90), p99: pct(99), max: latencies.at(-1) ?? null },
			/** The same, for acks a receipt brought (message_delivered right behind) and for the others (stored). */
			ackMsViaReceipt: split(true),
			ackMsOtherwise: split(false),
		};
		const overloaded =
			generator.eventLoopDelayMs.p99 > GENERATOR_LIMITS.eventLoopP99Ms ||
			generator.nodeCpuShareOfOneCore > GENERATOR_LIMITS.cpuShareOfOneCore;
		// Traces of the clients involved in a problem (or named by --trace), written to a file.
		const traced = (flags.trace ?? "").split(",");
		const traces = Object.fromEntries<string[]>(
			soakers
				.filter(
					(s) =>
						stuck.includes(s) ||
						verdict.problems.some((p) => p.to === s.name || p.from === s.name) ||
						traced.includes(s.name) ||
						traced.some((t) => s.endReasons.has(t) || s.errorCodes.has(t)),
				)
				.slice(0, 40)
				.map((s) => [s.name, s.trace]),
		);
		const report = {
			config: {
				pairs: PAIRS,
				clients,
				seconds: SECONDS,
				messagesPerSecPerClient: MESSAGES_PER_SEC,
				seed: SEED,
				faultScale: FAULT_SCALE,
				faultRatesPerClientMinute: DEFAULT_RATES,
				slowReaders,
				clientsSendingReceipts: clients - olderClients,
				olderClients,
				singleSocketClients: singleClients,
				restartsAt: RESTARTS_AT,
				heartbeat: HEARTBEAT,
				graceMs: 30_000,
			},
			faults: Object.fromEntries(faultCounts),
			endReasons: Object.fromEntries(endReasons),
			errorCodes: Object.fromEntries(errorCodes),
			counters,
			generator,
			drainMs,
			stuck: stuckStates,
			/** Acked messages still on their way to a connected recipient when the drain ended. */
			undrained,
			devServerReloads: reloads,
			restarts,
			chatsByKind,
			ackedTo,
			bySocket,
			receipts: receiptsCount,
			generatorOverloaded: overloaded,
			totalMs: Date.now() - startedAt,
			verdict: { ...verdict, perDirection: undefined, badDirections: verdict.badDirections.slice(0, 20) },
		};
		printHuman(report, verdict, traces);
		if (flags.json) console.log(JSON.stringify(report, null, 2));
		if (overloaded) {
			human(
				`WARNING: the generator was overloaded (event-loop p99 > ${GENERATOR_LIMITS.eventLoopP99Ms} ms or ` +
					`CPU > ${GENERATOR_LIMITS.cpuShareOfOneCore} of a core): late acks and deliveries may be the generator's`,
			);
		}
		const failed = !verdict.ok || stuck.length > 0 || verdict.totals.acked === 0;
		human(`${summaryLine(verdict.totals)} stuck=${stuck.length} undrained=${undrained} restarts=${restarts.length}`);
		return failed ? 1 : 0;
	} finally {
		process.off("SIGINT", onSignal);
		process.off("SIGTERM", onSignal);
		await cleanup();
	}
}

function brief(s: SoakClient) {
	const snap = s.snapshot;
	return {
		phase: snap.phase,
		connected: snap.connected,
		partnerOnline: snap.partnerOnline,
		unacked: s.unacked,
		endReason: snap.endReason,
		error: snap.error,
		away: s.away,
		chatId: snap.transcript?.chatId ?? null,
	};
}

function printHuman(
	report: {
		faults: Record<string, number>;
		endReasons: Record<string, number>;
		errorCodes: Record<string, number>;
		counters: Record<string, number>;
		generator: Record<string, unknown>;
		drainMs: number;
		stuck: { client: string; snapshot: unknown }[];
		devServerReloads: number;
		totalMs: number;
		config: { slowReaders: number; clientsSendingReceipts: number; olderClients: number; singleSocketClients: number };
		restarts: RestartRecord[];
		chatsByKind: Record<string, number>;
		ackedTo: Record<string, Record<string, number>>;
		bySocket: Record<string, Record<string, number>>;
		receipts: { sent: number; dropped: number };
	},
	verdict: Verdict,
	traces: Record<string, string[]>,
): void {
	const kv = (o: Record<string, unknown>) =>
		Object.entries(o)
			.map(([k, v]) => `${k}=${typeof v === "object" ? JSON.stringify(v) : v}`)
			.join(" ");
	human(`faults: ${kv(report.faults)}; slow readers for the whole run: ${report.config.slowReaders}`);
	human(
		`clients: ${report.config.clientsSendingReceipts} send receipts, ${report.config.olderClients} older (never do), ` +
			`${report.config.singleSocketClients} on one socket (/ws/single); ` +
			`chats: ${kv(report.chatsByKind)}; received frames sent ${report.receipts.sent}, dropped by older clients ${report.receipts.dropped}`,
	);
	human(`acked, by the recipient's kind: ${kv(report.ackedTo)}`);
	human(`by the recipient's socket mode: ${kv(report.bySocket)}`);
	const t = verdict.totals;
	human(
		`acked ${t.acked} (${t.ackedViaReceipt} through a receipt, ${t.acked - t.ackedViaReceipt} stored first); ` +
			`delivered ${t.delivered} (shown ${t.shown}, copies under a new id ${t.copies}, dropped by the client's dedupe ${t.droppedCopies}, ` +
			`redelivered on request ${t.redelivered}); messages copied with no server restart in their life ${t.copiedOutsideRestarts}`,
	);
	for (const r of report.restarts) {
		human(
			`restart at ${r.at} s (planned ${r.plannedAt} s): down ${r.downMs} ms (stopping ${r.stopMs} ms); ` +
				`${r.chattingBefore} clients were chatting; back: 95 % after ` +
				`${r.back95Ms === null ? "-" : `${r.back95Ms} ms`}, all after ${r.backAllMs === null ? "-" : `${r.backAllMs} ms`}`,
		);
	}
	human(`chat ends seen by clients: ${kv(report.endReasons)}`);
	human(`clients: ${kv(report.counters)}; errors by code: ${kv(report.errorCodes)}`);
	human(
		`excluded (recipient gone when its chat ended), by how it ended for the sender: ${kv(verdict.excludedBySenderEnd)}`,
	);
	human(`generator: ${kv(report.generator)}`);
	human(
		`checked ${verdict.chats} chats, ${verdict.directions} directions; drain ${(report.drainMs / 1000).toFixed(1)} s; ` +
			`total ${(report.totalMs / 1000).toFixed(1)} s`,
	);
	if (report.devServerReloads > 0) {
		human(`NOTE: wrangler reloaded the Worker ${report.devServerReloads} time(s) during the run (a source changed)`);
	}
	for (const s of report.stuck.slice(0, 10)) human(`stuck: ${s.client} ${JSON.stringify(s.snapshot)}`);
	for (const p of verdict.problems.slice(0, 20)) human(`problem: ${JSON.stringify(p)}`);
	if (Object.keys(traces).length > 0) {
		const file = join(mkdtempSync(join(tmpdir(), "flamingo-soak-traces-")), "traces.json");
		writeFileSync(file, JSON.stringify(traces, null, 1));
		human(`traces of ${Object.keys(traces).join(", ")}: ${file}`);
	}
}

main().then(
	(code) => process.exit(code),
	(err: unknown) => {
		console.error(err);
		process.exit(1);
	},
);
