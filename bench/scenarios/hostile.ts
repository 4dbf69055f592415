// Scenario 6, hostile load (ours only, its own server with the per-address
// limits ON and `SWEEP_MS=1000`): the same real-user workload twice on the
// same server, first quiet, then while attackers run.
//
// Real users: each has its own address; they open a lobby socket (`init`),
// pairs send `join_queue` at the same intended time (spread evenly over a
// few seconds), open both chat sockets, send about one message a second each
// (open-loop Poisson) and confirm what they receive as the bundled client
// does (`received {up_to}`, PROTOCOL.md 1.1), then leave. Match latency: a user's intended
// `join_queue` → its `match_found`; relay latency: intended `send_message` →
// the partner's `message_received` (both sockets here, one clock).
//
// Attackers, from addresses none of the real users have:
// 1. sweepers: open lobby sockets without `init`, one attempt after the
//    other (at most `upgradeAttemptsPerSec`), and hold them, sending only the
//    auto-answered `{"type":"ping"}`: one from a single IPv4 address, one
//    from a single IPv6 /64 with a new interface id per socket;
// 2. flooders: a socket, `floodFramesPerSocket` frames before `init` at once,
//    wait for the close (1008 on the 3rd), the next socket;
// 3. big frames: a socket, one frame of `bigFrameBytes`, wait for the close (1009);
// 4. `/api/stats` polled back to back by `statsLoops` loops.
//
// What reached the Matchmaker is read from its `lobby_load` lines (one per
// sweep, so one a second here), summed per phase. An idle initialised
// "sentinel" socket stays open throughout, so the sweep runs every second
// and each line covers about one second.
//
// Addresses: `wrangler dev` only sets `CF-Connecting-IP` from the TCP peer
// when the request has none, so a client-sent header is honoured locally (the
// edge overwrites it in production). A probe checks that first (65 sockets,
// each with its own header address: all accepted unless the header is
// ignored); if it were ignored, clients would bind distinct loopback source
// addresses (127.x.y.z) instead, and the IPv6 sweeper would be skipped.
import WebSocket from "ws";
import { type ClientAddress, closeAll, open, openLobby, pool, Sock } from "../lib/client.ts";
import { Latency, type Summary } from "../lib/histogram.ts";
import { poissonTimes, rng, runSchedule, sleep } from "../lib/poisson.ts";
import { ReceiptSender } from "../lib/receipts.ts";
import type { BenchServer } from "../lib/servers.ts";
import { Errors, startWindow } from "../lib/window.ts";
import { type ChatPair, JOIN_ANY, type Log, type Measured } from "./common.ts";

export interface HostileOptions {
	/** Real pairs per phase. */
	pairs: number;
	/** Seconds of messages per phase. */
	chatS: number;
	/** Messages per second per user (Poisson). */
	ratePerUser: number;
	/** The pairs' joins are spread evenly over this many seconds. */
	joinSpreadS: number;
	/** Attackers start this long before the real users of the attack phase. */
	leadS: number;
	/** After the real users are done, wait at most this long for the held attacking sockets to be closed. */
	closeWaitS: number;
	/** Each sweeper's attempts per second at most (one at a time, the next when the last was answered). */
	upgradeAttemptsPerSec: number;
	floodLoops: number;
	floodFramesPerSocket: number;
	/** Each flooder's sockets per second at most. */
	floodSocketsPerSec: number;
	bigLoops: number;
	bigFrameBytes: number;
	/** Each big-frame loop's sockets per second at most. */
	bigSocketsPerSec: number;
	statsLoops: number;
	drainMs: number;
	seed: number;
	/** Real users' delivery receipts wait this long for more messages to share them (the bundled client's 50 ms). */
	receiptDelayMs: number;
}

/** The counts of one `lobby_load` line (src/app/matchmaker/load-stats.ts). */
export interface LobbyLoad {
	upgrades: number;
	refused_upgrades: number;
	frames: number;
	closes: number;
	rpc_chat: number;
	rpc_stats: number;
	alarms: number;
	window_ms: number;
}

const LOAD_KEYS = ["upgrades", "refused_upgrades", "frames", "closes", "rpc_chat", "rpc_stats", "alarms"] as const;

export interface LoadTotals {
	/** lobby_load lines summed. */
	lines: number;
	/** Seconds from the phase's start to its end. */
	seconds: number;
	total: Record<(typeof LOAD_KEYS)[number], number>;
	perSecond: Record<(typeof LOAD_KEYS)[number], number>;
	/** The busiest line's counts per second (frames, upgrades …). */
	peakPerSecond: Record<(typeof LOAD_KEYS)[number], number>;
}

export interface PhaseResult {
	name: "quiet" | "attack";
	users: number;
	chats: number;
	/** Lobby upgrade + `init` → `ready`. */
	connect: Summary;
	match: Measured;
	relay: Measured;
	messages: { sent: number; received: number };
	/** Seconds each step took: lobby sockets, joins → every match_found, chat sockets, messages and drain, leaving. */
	steps: { lobby: number; match: number; chats: number; messages: number; leave: number };
	lobbyLoad: LoadTotals;
}

export interface SweeperResult {
	address: string;
	attempts: number;
	accepted: number;
	/** HTTP 429 answers by their Retry-After: "10" is the socket cap (the Matchmaker), "60" the upgrade rate limit (the Worker). */
	refused429: Record<string, number>;
	otherFailures: Record<string, number>;
	/** Close codes of the accepted sockets ("open" for those still open at the end). */
	closes: Record<string, number>;
	/** Accepted socket opened → closed by the server, seconds. */
	openToCloseS: { min: number; max: number } | null;
	/** Auto-answered pongs received on the held sockets (the exact ping does not keep them alive). */
	pongs: number;
	/** The most of its sockets open at once, as this client saw it (a close still on its way counts as open). */
	peakOpen: number;
}

export interface LoopResult {
	sockets: number;
	refused429: number;
	otherFailures: Record<string, number>;
	closes: Record<string, number>;
	framesSent: number;
	/** Answers (pong, error) received before the close. */
	answers: number;
}

export interface HostileResult {
	addressing: { viaHeader: boolean; probeAccepted: number; probeSockets: number };
	quiet: PhaseResult;
	attack: PhaseResult;
	attackS: number;
	sweepers: SweeperResult[];
	flood: LoopResult;
	big: LoopResult;
	stats: { requests: number; ok: number; failed: Record<string, number>; perSecond: number; latency: Summary };
	/** Attacking sockets opened (accepted upgrades) and how each ended. */
	attackingSockets: { opened: number; refused429: number; closed: Record<string, number>; stillOpen: number };
	ratios: { matchP50: number; matchP99: number; relayP50: number; relayP99: number };
	/** Lines that arrived outside both phases (setup, probe, between the phases), summed. */
	outside: LoadTotals;
}

/** Padding so a message is about 80 characters, a short chat line. */
const FILLER = "the quick brown fox jumps over the lazy dog, again and again and";

/** A phase's last counts reach a lobby_load line at the next sweep (every second): lines this long after its end are its own. */
const TAIL_MS = 1_500;

/** sleep() that takes a deadline already passed as "now". */
const pause = (ms: number) => sleep(Math.max(0, ms));

const ratio = (a: number, b: number) => (b > 0 ? Math.round((a / b) * 100) / 100 : Number.NaN);

/** Who each client is: its `CF-Connecting-IP`, or (header ignored) the loopback address its socket binds. */
class Addresses {
	readonly viaHeader: boolean;

	constructor(viaHeader: boolean) {
		this.viaHeader = viaHeader;
	}

	private at(header: string, source: string): ClientAddress {
		return this.viaHeader ? { headers: { "CF-Connecting-IP": header } } : { localAddress: source };
	}

	/** Real user `i` of phase `p` (0 quiet, 1 attack): one address each. */
	user(p: number, i: number): ClientAddress {
		const [hi, lo] = [Math.floor(i / 200), 1 + (i % 200)];
		return this.at(`10.${p + 1}.${hi}.${lo}`, `127.${p + 1}.${hi}.${lo}`);
	}

	probe(i: number): ClientAddress {
		return { headers: { "CF-Connecting-IP": `192.0.2.${100 + i}` } };
	}

	sentinel(): ClientAddress {
		return this.at("10.0.0.1", "127.0.0.2");
	}

	sweeperV4(): ClientAddress {
		return this.at("192.0.2.1", "127.9.0.1");
	}

	flood(k: number): ClientAddress {
		return this.at(`198.51.100.${1 + (k % 32)}`, `127.9.1.${1 + (k % 32)}`);
	}

	big(k: number): ClientAddress {
		return this.at(`198.51.100.${101 + (k % 8)}`, `127.9.2.${1 + (k % 8)}`);
	}

	stats(): ClientAddress {
		return this.viaHeader ? { headers: { "CF-Connecting-IP": "203.0.113.1" } } : {};
	}
}

interface Attempt {
	sock: Sock | null;
	status: number;
	retryAfter: string | null;
	error?: string;
}

/** One upgrade: the open socket, or the HTTP status (and Retry-After) it was refused with. */
function attempt(url: string, from: ClientAddress, timeoutMs = 10_000): Promise<Attempt> {
	return new Promise((resolve) => {
		const ws = new WebSocket(url, { perMessageDeflate: false, handshakeTimeout: timeoutMs, ...from });
		const sock = new Sock(ws, url);
		ws.once("open", () => resolve({ sock, status: 101, retryAfter: null }));
		ws.once("unexpected-response", (req, res) => {
			const retry = res.headers["retry-after"];
			req.destroy();
			resolve({ sock: null, status: res.statusCode ?? 0, retryAfter: typeof retry === "string" ? retry : null });
		});
		ws.once("error", (err) => resolve({ sock: null, status: 0, retryAfter: null, error: err.message }));
	});
}

/** Resolves true when `sock` is closed, false after `ms` without a close. */
function closedWithin(sock: Sock, ms: number): Promise<boolean> {
	if (sock.closeInfo) return Promise.resolve(true);
	return new Promise((resolve) => {
		const done = () => {
			clearTimeout(timer);
			resolve(true);
		};
		const timer = setTimeout(() => {
			sock.ws.off("close", done);
			resolve(sock.closeInfo !== null);
		}, ms);
		sock.ws.once("close", done);
	});
}

const bump = (record: Record<string, number>, key: string, n = 1) => {
	record[key] = (record[key] ?? 0) + n;
};

/** Collects the Matchmaker's `lobby_load` lines with the time each arrived. */
class LoadLines {
	readonly lines: { at: number; load: LobbyLoad }[] = [];
	private readonly off: () => void;

	constructor(server: BenchServer) {
		this.off = server.onLine((line) => {
			if (!line.includes('"event":"lobby_load"')) return;
			const start = line.indexOf("{");
			try {
				this.lines.push({ at: performance.now(), load: JSON.parse(line.slice(start)) as LobbyLoad });
			} catch {
				// a line cut by the pipe: not ours to fix
			}
		});
	}

	stop(): void {
		this.off();
	}

	/** The lines that arrived in (from, to], summed; `seconds` is to − from. */
	sum(from: number, to: number, keep: (at: number) => boolean = (at) => at > from && at <= to): LoadTotals {
		const zero = () => Object.fromEntries(LOAD_KEYS.map((k) => [k, 0])) as LoadTotals["total"];
		const total = zero();
		const peak = zero();
		let lines = 0;
		for (const { at, load } of this.lines) {
			if (!keep(at)) continue;
			lines++;
			for (const k of LOAD_KEYS) {
				total[k] += load[k] ?? 0;
				const rate = load.window_ms > 0 ? ((load[k] ?? 0) * 1000) / load.window_ms : 0;
				peak[k] = Math.max(peak[k], Math.round(rate));
			}
		}
		const seconds = Math.max(0.001, (to - from) / 1000);
		const perSecond = zero();
		for (const k of LOAD_KEYS) perSecond[k] = Math.round((total[k] / seconds) * 10) / 10;
		return { lines, seconds: Math.round(seconds * 10) / 10, total, perSecond, peakPerSecond: peak };
	}
}

export async function hostileScenario(server: BenchServer, o: HostileOptions, log: Log): Promise<HostileResult> {
	const url = `${server.wsUrl}${server.lobbyPath}`;
	const loads = new LoadLines(server);
	const phases: { from: number; to: number }[] = [];
	const scenarioStart = performance.now();
	let sentinel: Sock | null = null;
	try {
		// Is a client's CF-Connecting-IP honoured? 65 sockets from one TCP peer,
		// each with its own header address: the 65th is refused if it is not.
		const probe = await pool(
			Array.from({ length: 65 }, (_, i) => i),
			8,
			(i) => open(url, 10_000, new Addresses(true).probe(i)),
		);
		const probeSocks = probe.results.filter((s): s is Sock => s !== undefined);
		const viaHeader = probeSocks.length === 65;
		await closeAll(probeSocks, 5_000);
		log(
			`  ours: CF-Connecting-IP sent by the client ${viaHeader ? "is honoured" : "is ignored"} by wrangler dev (${probeSocks.length}/65 sockets with distinct header addresses accepted${probe.errors[0] ? `; first refusal: ${probe.errors[0]}` : ""}); addresses ${viaHeader ? "by header" : "by loopback source address"}`,
		);
		const addresses = new Addresses(viaHeader);
		sentinel = await openLobby(url, 10_000, addresses.sentinel());
		await sleep(2_000);

		// Phase A: quiet.
		let from = performance.now();
		const quietRun = await realUsers(server, o, addresses, 0, log);
		let to = performance.now();
		await sleep(TAIL_MS + 300);
		phases.push({ from, to: to + TAIL_MS });
		const quiet: PhaseResult = { ...quietRun, name: "quiet", lobbyLoad: loads.sum(from, to + TAIL_MS) };
		logPhase(quiet, log);
		await sleep(1_000);

		// Phase B: the same workload while attackers run.
		from = performance.now();
		const attack = startAttackers(server, o, addresses, rng(o.seed + 7));
		let attackRun: Awaited<ReturnType<typeof realUsers>>;
		try {
			await sleep(o.leadS * 1000);
			attackRun = await realUsers(server, o, addresses, 1, log);
		} catch (err) {
			await attack.stop(0);
			throw err;
		}
		const attackS = Math.round((performance.now() - from) / 100) / 10;
		const attackers = await attack.stop(o.closeWaitS * 1000);
		to = performance.now();
		await sleep(TAIL_MS + 300);
		phases.push({ from, to: to + TAIL_MS });
		const attacked: PhaseResult = { ...attackRun, name: "attack", lobbyLoad: loads.sum(from, to + TAIL_MS) };
		logPhase(attacked, log);

		const opened =
			attackers.sweepers.reduce((a, s) => a + s.accepted, 0) + attackers.flood.sockets + attackers.big.sockets;
		const refused429 =
			attackers.sweepers.reduce((a, s) => a + Object.values(s.refused429).reduce((x, y) => x + y, 0), 0) +
			attackers.flood.refused429 +
			attackers.big.refused429;
		const closed: Record<string, number> = {};
		for (const r of [...attackers.sweepers, attackers.flood, attackers.big]) {
			for (const [code, n] of Object.entries(r.closes)) if (code !== "open") bump(closed, code, n);
		}
		const stillOpen =
			attackers.sweepers.reduce((a, s) => a + (s.closes.open ?? 0), 0) +
			(attackers.flood.closes.open ?? 0) +
			(attackers.big.closes.open ?? 0);
		const result: HostileResult = {
			addressing: { viaHeader, probeAccepted: probeSocks.length, probeSockets: 65 },
			quiet,
			attack: attacked,
			attackS,
			...attackers,
			attackingSockets: { opened, refused429, closed, stillOpen },
			ratios: {
				matchP50: ratio(attacked.match.latency.p50, quiet.match.latency.p50),
				matchP99: ratio(attacked.match.latency.p99, quiet.match.latency.p99),
				relayP50: ratio(attacked.relay.latency.p50, quiet.relay.latency.p50),
				relayP99: ratio(attacked.relay.latency.p99, quiet.relay.latency.p99),
			},
			outside: loads.sum(scenarioStart, performance.now(), (at) => !phases.some((p) => at > p.from && at <= p.to)),
		};
		log(
			`  ours: lobby_load outside both phases (the probe's ${probeSocks.length} sockets and the sentinel): ${JSON.stringify(result.outside.total)}`,
		);
		log(
			`  ours: attack ${attackS} s: attacking sockets opened ${opened}, refused 429 ${refused429}, closed ${JSON.stringify(closed)}, still open ${stillOpen}; /api/stats ${attackers.stats.ok} served (${attackers.stats.perSecond}/s), Matchmaker stats() calls in the attack ${attacked.lobbyLoad.total.rpc_stats}`,
		);
		log(
			`  ours: attack / quiet: match p50 ${result.ratios.matchP50}× p99 ${result.ratios.matchP99}×, relay p50 ${result.ratios.relayP50}× p99 ${result.ratios.relayP99}×`,
		);
		return result;
	} finally {
		sentinel?.close();
		if (sentinel) await closedWithin(sentinel, 2_000);
		loads.stop();
	}
}

function logPhase(p: PhaseResult, log: Log): void {
	const l = p.lobbyLoad;
	log(
		`  ours: ${p.name}: ${p.users} users, ${p.chats} chats; connect p50 ${p.connect.p50} p99 ${p.connect.p99} ms; match p50 ${p.match.latency.p50} p99 ${p.match.latency.p99} ms (errors ${JSON.stringify(p.match.errorKinds)}); relay p50 ${p.relay.latency.p50} p99 ${p.relay.latency.p99} ms, ${p.messages.received}/${p.messages.sent} (errors ${JSON.stringify(p.relay.errorKinds)}); server CPU ${p.relay.serverCpuS} s in ${p.relay.seconds} s, loop p99 ${p.relay.loop.p99} ms`,
	);
	log(`  ours: ${p.name}: steps (s) ${JSON.stringify(p.steps)}`);
	log(`  ours: ${p.name}: lobby_load over ${l.seconds} s (${l.lines} lines): ${JSON.stringify(l.total)}`);
}

/** One phase of real users: lobby, join, chat, leave. */
async function realUsers(
	server: BenchServer,
	o: HostileOptions,
	addresses: Addresses,
	phase: number,
	log: Log,
): Promise<Omit<PhaseResult, "name" | "lobbyLoad">> {
	const url = `${server.wsUrl}${server.lobbyPath}`;
	const n = 2 * o.pairs;
	const connect = new Latency();
	const match = new Latency();
	const matchErrors = new Errors();
	const window = startWindow(server);
	const marks = [performance.now()];
	const mark = () => {
		const now = performance.now();
		const s = Math.round((now - (marks.at(-1) as number)) / 100) / 10;
		marks.push(now);
		return s;
	};
	const opened = await pool(
		Array.from({ length: n }, (_, i) => i),
		16,
		async (i) => {
			const t = performance.now();
			const sock = await openLobby(url, 10_000, addresses.user(phase, i));
			connect.recordMs(performance.now() - t);
			return { sock, i };
		},
	);
	for (const e of opened.errors) {
		const status = /HTTP \d+/.exec(e)?.[0];
		matchErrors.add(status ? `lobby refused ${status}` : "lobby failed");
	}
	const users = opened.results.filter((u): u is { sock: Sock; i: number } => u !== undefined);
	const lobbyS = mark();

	// Joins: both users of a pair at the same intended time, pairs evenly spread.
	const spreadMs = o.joinSpreadS * 1000;
	const offsets = users.map((_, k) => Math.floor(k / 2) * (spreadMs / Math.max(1, o.pairs)));
	const found: Promise<{ user: { sock: Sock; i: number }; chatId: string; chatUrl: string } | null>[] = [];
	const start = performance.now() + 50;
	await runSchedule(start, offsets, (k, intendedAt) => {
		const user = users[k] as { sock: Sock; i: number };
		user.sock.send(JOIN_ANY);
		found.push(
			user.sock.waitFor("match_found", 15_000).then(
				(r) => {
					match.recordMs(r.at - intendedAt);
					return { user, chatId: String(r.frame.payload.chat_id), chatUrl: String(r.frame.payload.chat_url) };
				},
				(err: Error) => {
					matchErrors.add(err.message.includes("timed out") ? "no match_found within 15 s" : "lobby closed");
					return null;
				},
			),
		);
	});
	const matched = (await Promise.all(found)).filter((f) => f !== null);
	const matchS = mark();

	// Chats: both sockets through chat_url, from the user's own address.
	const byChat = new Map<string, { user: { sock: Sock; i: number }; chatUrl: string }[]>();
	for (const f of matched) byChat.set(f.chatId, [...(byChat.get(f.chatId) ?? []), f]);
	const chatOpen = await pool([...byChat.entries()], 16, async ([chatId, members]) => {
		if (members.length !== 2) throw new Error(`chat ${chatId} has ${members.length} members here`);
		const [a, b] = await Promise.all(members.map((m) => open(m.chatUrl, 10_000, addresses.user(phase, m.user.i))));
		await Promise.all([(a as Sock).waitFor("chat_joined", 10_000), (b as Sock).waitFor("chat_joined", 10_000)]);
		return { chatId, a: a as Sock, b: b as Sock };
	});
	const chats = chatOpen.results.filter((c): c is ChatPair => c !== undefined);
	const chatsS = mark();
	for (const e of chatOpen.errors) matchErrors.add(`chat failed: ${e.slice(0, 60)}`);
	log(
		`  ours: ${phase === 0 ? "quiet" : "attack"}: ${users.length}/${n} users in the lobby, ${chats.length} chats open`,
	);

	const relay = await relayWindow(chats, o, phase);
	const messagesS = mark();
	const unclosed = await leave(
		chats,
		users.map((u) => u.sock),
	);
	relay.errors.add("chat socket not closed by the server within 10 s of leave_chat", unclosed);
	const cost = window.stop();
	const leaveS = mark();
	return {
		users: users.length,
		chats: chats.length,
		connect: connect.summary(),
		match: { ...cost, latency: match.summary(), errors: matchErrors.total, errorKinds: matchErrors.kinds },
		relay: { ...cost, latency: relay.latency, errors: relay.errors.total, errorKinds: relay.errors.kinds },
		messages: { sent: relay.sent, received: relay.received },
		steps: { lobby: lobbyS, match: matchS, chats: chatsS, messages: messagesS, leave: leaveS },
	};
}

/**
 * Ends every chat (`leave_chat` from one side) and waits (bounded) until the
 * server's close frame reached both chat sockets, then drops every socket.
 * Not closeChats: `ws` reports a close only once the TCP connection is gone,
 * which through wrangler's proxy takes about 10 s after a chat's close.
 * Returns how many chat sockets the server did not close in time.
 */
async function leave(chats: ChatPair[], lobbies: Sock[]): Promise<number> {
	for (const c of chats) {
		c.a.onFrame = null;
		c.b.onFrame = null;
		c.a.send({ type: "leave_chat", payload: {} });
	}
	for (const s of lobbies) if (s.isOpen) s.close();
	const chatSocks = chats.flatMap((c) => [c.a, c.b]);
	const deadline = performance.now() + 10_000;
	while (performance.now() < deadline && chatSocks.some((s) => s.isOpen)) await sleep(50);
	const unclosed = chatSocks.filter((s) => s.isOpen).length;
	await sleep(200);
	for (const s of [...chatSocks, ...lobbies]) s.terminate();
	return unclosed;
}

/** Messages in every chat for `chatS` seconds, open loop; latency intended send → partner's `message_received`. */
async function relayWindow(
	chats: ChatPair[],
	o: HostileOptions,
	phase: number,
): Promise<{ latency: Summary; errors: Errors; sent: number; received: number }> {
	const errors = new Errors();
	const latency = new Latency();
	if (chats.length === 0) return { latency: latency.summary(), errors, sent: 0, received: 0 };
	const random = rng(o.seed + 31 * phase);
	const offsets = poissonTimes(2 * chats.length * o.ratePerUser, o.chatS * 1000, random);
	const count = offsets.length;
	const chatOf = Uint32Array.from(offsets, () => Math.floor(random() * chats.length));
	const fromA = Uint8Array.from(offsets, () => (random() < 0.5 ? 1 : 0));
	const intended = new Float64Array(count);
	const received = new Uint8Array(count);
	let got = 0;
	// Real users confirm what they receive, as the bundled client does (PROTOCOL.md 1.1).
	const receipts: ReceiptSender[] = [];
	const handler = (sock: Sock) => {
		const receipt = new ReceiptSender(sock, o.receiptDelayMs);
		receipts.push(receipt);
		return (frame: { type: string; payload: { content?: string; code?: string; message_id?: number } }, at: number) => {
			if (frame.type === "message_received") {
				receipt.got(Number(frame.payload.message_id));
				const content = frame.payload.content ?? "";
				const seq = Number(content.slice(0, content.indexOf(" ")));
				if (!(seq >= 0 && seq < count) || received[seq]) return errors.add("unexpected message");
				received[seq] = 1;
				got++;
				latency.recordMs(at - (intended[seq] as number));
			} else if (frame.type === "error") {
				errors.add(`error ${String(frame.payload.code)}`);
			}
		};
	};
	for (const c of chats) {
		c.a.onFrame = handler(c.a);
		c.b.onFrame = handler(c.b);
	}
	const start = performance.now() + 50;
	await runSchedule(start, offsets, (i, intendedAt) => {
		const chat = chats[chatOf[i] as number] as ChatPair;
		intended[i] = intendedAt;
		(fromA[i] ? chat.a : chat.b).send(
			`{"type":"send_message","payload":{"content":"${i} ${FILLER}","client_msg_id":"${i}"}}`,
		);
	});
	const drainEnd = performance.now() + o.drainMs;
	while (performance.now() < drainEnd && got < count) await sleep(50);
	// What is owed is confirmed before `leave_chat`, as the bundled client does.
	for (const r of receipts) r.flush();
	errors.add("lost (not received within the drain time)", count - got);
	return { latency: latency.summary(), errors, sent: count, received: got };
}

/** Starts every attacker; `stop` ends their loops, waits (bounded) for the held sockets' closes and reports. */
function startAttackers(
	server: BenchServer,
	o: HostileOptions,
	addresses: Addresses,
	random: () => number,
): {
	stop(closeWaitMs: number): Promise<Pick<HostileResult, "sweepers" | "flood" | "big" | "stats">>;
} {
	const url = `${server.wsUrl}${server.lobbyPath}`;
	let stopped = false;
	const started = performance.now();
	/** No loop runs longer than this, whatever happens to the real users. */
	const hardStop = started + 120_000;
	const running = () => !stopped && performance.now() < hardStop;

	// 1. Sweepers: hold as many lobby sockets without init as they are allowed.
	const held: { sock: Sock; openedAt: number; sweeper: SweeperResult }[] = [];
	const hex = () => Math.floor(random() * 0x10000).toString(16);
	const sweeperSpecs: { address: string; from: () => ClientAddress }[] = [];
	if (o.upgradeAttemptsPerSec > 0)
		sweeperSpecs.push({ address: "one IPv4 address", from: () => addresses.sweeperV4() });
	if (o.upgradeAttemptsPerSec > 0 && addresses.viaHeader) {
		sweeperSpecs.push({
			address: "one IPv6 /64, a new interface id per socket",
			from: () => ({ headers: { "CF-Connecting-IP": `2001:db8:bad:1:${hex()}:${hex()}:${hex()}:${hex()}` } }),
		});
	}
	const sweepers: SweeperResult[] = sweeperSpecs.map((s) => ({
		address: s.address,
		attempts: 0,
		accepted: 0,
		refused429: {},
		otherFailures: {},
		closes: {},
		openToCloseS: null,
		pongs: 0,
		peakOpen: 0,
	}));
	const sweeperLoops = sweeperSpecs.map(async (spec, k) => {
		const r = sweepers[k] as SweeperResult;
		const gapMs = 1000 / o.upgradeAttemptsPerSec;
		while (running()) {
			const t = performance.now();
			r.attempts++;
			const a = await attempt(url, spec.from());
			if (a.sock) {
				r.accepted++;
				held.push({ sock: a.sock, openedAt: performance.now(), sweeper: r });
				const openNow = held.filter((h) => h.sweeper === r && h.sock.closeInfo === null).length;
				r.peakOpen = Math.max(r.peakOpen, openNow);
			} else if (a.status === 429) bump(r.refused429, a.retryAfter ?? "none");
			else bump(r.otherFailures, a.status > 0 ? `HTTP ${a.status}` : (a.error ?? "failed").slice(0, 60));
			await pause(t + gapMs - performance.now());
		}
	});
	// The exact auto-answered ping every 3 s on every held socket: it must not keep them open.
	const keepAlive = setInterval(() => {
		for (const h of held) if (h.sock.isOpen) h.sock.send('{"type":"ping"}');
	}, 3_000);

	// 2 and 3: a socket, frames, wait for the server to close it, the next one.
	const loopResult = (): LoopResult => ({
		sockets: 0,
		refused429: 0,
		otherFailures: {},
		closes: {},
		framesSent: 0,
		answers: 0,
	});
	const flood = loopResult();
	const big = loopResult();
	const floodFrames = [
		'{"type":"ping","payload":{}}',
		JOIN_ANY,
		'{"type":"typing","payload":{}}',
		'{"type":"join_queue","payload":{"gender":"female","preference":"any"}}',
		"not json",
	];
	const [head, tail] = ['{"type":"init","payload":{"pad":"', '"}}'];
	const bigFrame = `${head}${"x".repeat(Math.max(0, o.bigFrameBytes - head.length - tail.length))}${tail}`;
	/** Flood and big-frame sockets the server had not closed when their loop moved on. */
	const lingering: { sock: Sock; r: LoopResult }[] = [];
	let floodAddress = 0;
	let bigAddress = 0;
	const frameLoop = async (
		r: LoopResult,
		from: () => ClientAddress,
		frames: () => string[],
		perSec: number,
		closeWaitMs: number,
	) => {
		const gapMs = 1000 / perSec;
		while (running()) {
			const t = performance.now();
			const a = await attempt(url, from());
			if (!a.sock) {
				if (a.status === 429) r.refused429++;
				else bump(r.otherFailures, a.status > 0 ? `HTTP ${a.status}` : (a.error ?? "failed").slice(0, 60));
				await pause(Math.max(gapMs, 100) - (performance.now() - t));
				continue;
			}
			r.sockets++;
			const sock = a.sock;
			for (const f of frames()) {
				sock.send(f);
				r.framesSent++;
			}
			const closed = await closedWithin(sock, closeWaitMs);
			r.answers += sock.count("pong") + sock.count("error");
			// Not closed yet: looked at again at the end of the attack.
			if (closed) bump(r.closes, String(sock.closeInfo?.code));
			else lingering.push({ sock, r });
			await pause(t + gapMs - performance.now());
		}
	};
	const floodLoops = Array.from({ length: o.floodLoops }, () =>
		frameLoop(
			flood,
			() => addresses.flood(floodAddress++),
			() => Array.from({ length: o.floodFramesPerSocket }, (_, i) => floodFrames[i % floodFrames.length] as string),
			o.floodSocketsPerSec,
			3_000,
		),
	);
	const bigLoops = Array.from({ length: o.bigLoops }, () =>
		frameLoop(
			big,
			() => addresses.big(bigAddress++),
			() => [bigFrame],
			o.bigSocketsPerSec,
			3_000,
		),
	);

	// 4. /api/stats, back to back.
	const statsUrl = `http://127.0.0.1:${server.port}/api/stats`;
	const statsLatency = new Latency();
	const stats = { requests: 0, ok: 0, failed: {} as Record<string, number> };
	const statsLoops = Array.from({ length: o.statsLoops }, async () => {
		const headers = addresses.stats().headers ?? {};
		while (running()) {
			const t = performance.now();
			stats.requests++;
			try {
				const res = await fetch(statsUrl, { headers, signal: AbortSignal.timeout(5_000) });
				await res.text();
				if (res.status === 200) {
					stats.ok++;
					statsLatency.recordMs(performance.now() - t);
				} else bump(stats.failed, `HTTP ${res.status}`);
			} catch (err) {
				bump(stats.failed, (err as Error).name);
				await sleep(50);
			}
		}
	});

	return {
		async stop(closeWaitMs) {
			stopped = true;
			const statsEnded = performance.now();
			await Promise.all([...sweeperLoops, ...floodLoops, ...bigLoops, ...statsLoops]);
			// The held sockets (and any flood socket not closed yet): wait (bounded) for the server to close them.
			const deadline = performance.now() + closeWaitMs;
			const waiting = () => [...held, ...lingering].some((h) => h.sock.closeInfo === null);
			while (performance.now() < deadline && waiting()) await sleep(100);
			clearInterval(keepAlive);
			for (const { sock, r } of lingering) {
				if (sock.closeInfo) bump(r.closes, String(sock.closeInfo.code));
				else {
					bump(r.closes, "open");
					sock.terminate();
				}
			}
			for (const h of held) {
				const r = h.sweeper;
				r.pongs += h.sock.count("pong");
				if (h.sock.closeInfo === null) {
					bump(r.closes, "open");
					h.sock.terminate();
					continue;
				}
				bump(r.closes, String(h.sock.closeInfo.code));
				const s = Math.round((h.sock.closeInfo.at - h.openedAt) / 100) / 10;
				r.openToCloseS = r.openToCloseS
					? { min: Math.min(r.openToCloseS.min, s), max: Math.max(r.openToCloseS.max, s) }
					: { min: s, max: s };
			}
			const seconds = (statsEnded - started) / 1000;
			return {
				sweepers,
				flood,
				big,
				stats: {
					...stats,
					perSecond: Math.round(stats.ok / seconds),
					latency: statsLatency.summary(),
				},
			};
		},
	};
}
