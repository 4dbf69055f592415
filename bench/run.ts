// `npm run bench [-- --quick] [-- --json[=path]]`: Flamingo against the
// platform's floor (bench/baselines/bare-do) and a plain Node server
// (bench/baselines/node-ws), same machine, same run. See docs/BENCHMARKS.md.
//
// The generator (this process) runs on core 1, every server on core 0. Every
// server is started and stopped here, on 127.0.0.1 only. Exit status: 0 when
// the harness ran (targets are reported, not asserted), 1 when it failed
// (a server did not start, a scenario crashed), 3 when it ran out of time.
import { execFileSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { cpus, release, totalmem } from "node:os";
import { join } from "node:path";
import { openLobby, type Sock } from "./lib/client.ts";
import { median, medianSummary, round, type Summary } from "./lib/histogram.ts";
import { LOOP_DELAY_LIMIT_MS } from "./lib/loop-delay.ts";
import { info, latencyTable, plainTable, type Row, type Target, target, targetTable } from "./lib/report.ts";
import { type ChatRows, type LobbyRows, ServerEvents } from "./lib/server-log.ts";
import { type BenchServer, pinSelf, ROOT, type ServerKind, startServer } from "./lib/servers.ts";
import { waitIdle } from "./lib/window.ts";
import type { Measured } from "./scenarios/common.ts";
import { handoverScenario } from "./scenarios/handover.ts";
import { type HostileResult, hostileScenario } from "./scenarios/hostile.ts";
import { type LadderResult, ladderScenario } from "./scenarios/ladder.ts";
import { type MemoryResult, memoryScenario } from "./scenarios/memory.ts";
import { type QueueResult, queueScenario } from "./scenarios/queue.ts";
import { type RelayResult, relayScenario } from "./scenarios/relay.ts";

const SCENARIOS = ["memory", "relay", "ladder", "queue", "handover", "hostile"] as const;
type Scenario = (typeof SCENARIOS)[number];
const SERVERS: ServerKind[] = ["ours", "bare-do", "node-ws"];

// ---- options -----------------------------------------------------------------

const argv = process.argv.slice(2);
const flag = (name: string) => argv.some((a) => a === `--${name}` || a.startsWith(`--${name}=`));
const value = (name: string): string | undefined =>
	argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
const num = (name: string, fallback: number) => {
	const v = value(name);
	return v === undefined ? fallback : Number(v);
};
if (flag("help")) {
	console.log(`npm run bench -- [--quick] [--json[=path]] [--only=${SCENARIOS.join(",")}] [--servers=${SERVERS.join(",")}]
  [--repeats=N] [--relay-pairs=N] [--relay-rate=R] [--relay-window-s=S] [--relay-light-pairs=N]
  [--relay-older-pairs=N] [--receipt-delay-ms=MS] [--persist-base=DIR] [--no-pin]
  [--hostile-attackers=sweep,flood,big,stats]`);
	process.exit(0);
}
const quick = flag("quick");
const json = flag("json");
const jsonPath = value("json");
const only = new Set((value("only") ?? SCENARIOS.join(",")).split(",") as Scenario[]);
const serverKinds = (value("servers") ?? SERVERS.join(",")).split(",") as ServerKind[];
const repeats = num("repeats", quick ? 1 : 3);
const seed = num("seed", 1);
const pin = !flag("no-pin") && cpus().length >= 2;
/** The hostile scenario's attackers (all by default; one alone shows what it costs). */
const attackers = new Set((value("hostile-attackers") ?? "sweep,flood,big,stats").split(","));
/** Where wrangler's --persist-to directories go (e.g. /dev/shm to take the disk out of the picture). */
const persistBase = value("persist-base");
/** How long ours' clients wait before a delivery receipt (the bundled client: 50 ms; PROTOCOL.md: within 100). */
const receiptDelayMs = num("receipt-delay-ms", 50);

const config = {
	mode: quick ? "quick" : "full",
	repeats,
	relay: {
		pairs: num("relay-pairs", quick ? 30 : 1000),
		ratePerPair: num("relay-rate", 1),
		warmupS: quick ? 1 : 5,
		windowS: num("relay-window-s", quick ? 4 : 15),
		repeats,
		drainMs: 5000,
		seed,
		/** Ours' clients confirm with delivery receipts, as the bundled client does. */
		receipts: true,
		receiptDelayMs,
		/** After the chats were left: how long their `chat_ended` lines (the rows they wrote) may take. */
		endWaitMs: 30_000,
	},
	/** A second, light relay load: per-message cost without queueing (0 pairs: skipped). */
	relayLight: { pairs: num("relay-light-pairs", quick ? 0 : 100), windowS: 5, warmupS: 2 },
	/**
	 * Ours only, light load, clients that never send receipts (an older client
	 * as the partner): every message is stored, its ack waits for that (0 pairs: skipped).
	 */
	relayOlder: {
		pairs: num("relay-older-pairs", quick ? 10 : 100),
		windowS: quick ? 3 : 5,
		warmupS: quick ? 1 : 2,
		receipts: false,
		label: "older clients",
	},
	/** The Matchmaker sweeps (and logs `lobby_load`) every 20 s by default: the longest wait for a line. */
	lobbyLineWaitMs: 25_000,
	ladder: {
		rates: quick ? [50, 200] : [50, 100, 200, 400, 600, 800, 1200, 1600],
		stepS: quick ? 1 : 1.5,
		thresholdMs: 100,
		drainMs: 3000,
		retry: !quick,
		seed,
	},
	queue: { small: quick ? 100 : 10, large: quick ? 1000 : 10_000, pairs: quick ? 20 : 200, repeats, direct: true },
	handover: { pairs: quick ? 20 : 150, repeats, concurrency: 4 },
	memory: { sockets: quick ? 300 : 5000, hibernateWaitS: quick ? 6 : 15, direct: true },
	/** Real users quiet, then the same again under attack (scenarios/hostile.ts); its own server, limits on. */
	hostile: {
		pairs: quick ? 20 : 100,
		chatS: quick ? 3 : 10,
		ratePerUser: 1,
		joinSpreadS: quick ? 1 : 2,
		leadS: 1,
		closeWaitS: 12,
		upgradeAttemptsPerSec: attackers.has("sweep") ? 50 : 0,
		floodLoops: attackers.has("flood") ? 2 : 0,
		floodFramesPerSocket: 5,
		floodSocketsPerSec: 20,
		bigLoops: attackers.has("big") ? 1 : 0,
		bigFrameBytes: 1 << 20,
		bigSocketsPerSec: 4,
		statsLoops: attackers.has("stats") ? 3 : 0,
		drainMs: 5000,
		seed,
		receiptDelayMs,
	},
	/** Variables for our server: no per-IP limits (one address), no heartbeat closes during long idle phases. */
	oursVars: { PER_IP_LIMITS: "off", HEARTBEAT_TIMEOUT_MS: "600000" },
	/** The hostile scenario's server: per-address limits on (the default), a lobby_load line a second. */
	hostileVars: { SWEEP_MS: "1000", HEARTBEAT_TIMEOUT_MS: "600000" },
	// Quick: about 160 s with the hostile scenario (its own server, 10 s of init deadline to wait out).
	timeLimitS: quick ? 240 : 1200,
};

const log = (m: string) => process.stderr.write(`${m}\n`);
const startedAt = Date.now();
const elapsed = () => `${Math.round((Date.now() - startedAt) / 1000)} s`;

// ---- run -----------------------------------------------------------------------

const servers = new Map<ServerKind, BenchServer>();
/** The hostile scenario's own server while it runs. */
let hostileServer: BenchServer | null = null;
const harnessErrors: string[] = [];
/** Things that make figures suspect without being a failure of the harness (a runtime that crashed under overload and was restarted). */
const warnings: string[] = [];
const results: {
	relay: Partial<Record<ServerKind, Measured[]>>;
	relayLight: Partial<Record<ServerKind, Measured[]>>;
	/** Ours only: the light relay with clients that never send receipts. */
	relayOlder: Partial<Record<ServerKind, Measured[]>>;
	/** Ours: rows its objects wrote, from their own log lines (chat_ended per chat, lobby_load per sweep). */
	rows: {
		relay: ChatRows | null;
		relayLight: ChatRows | null;
		relayOlder: ChatRows | null;
		/** The Matchmaker's lines over all of ours' relay runs (every chat there went match → join → leave → end). */
		lobby: LobbyRows | null;
	};
	ladder: Partial<Record<ServerKind, LadderResult[]>>;
	queue: QueueResult | null;
	handover: Partial<Record<ServerKind, Measured[]>>;
	memory: Partial<Record<ServerKind, MemoryResult>>;
	hostile: HostileResult | null;
} = {
	relay: {},
	relayLight: {},
	relayOlder: {},
	rows: { relay: null, relayLight: null, relayOlder: null, lobby: null },
	ladder: {},
	queue: null,
	handover: {},
	memory: {},
	hostile: null,
};

async function stopAll(): Promise<void> {
	const all = [...servers.values(), ...(hostileServer ? [hostileServer] : [])];
	await Promise.all(all.map((s) => s.stop().catch(() => {})));
}

const watchdog = setTimeout(() => {
	log(`bench: over its time limit of ${config.timeLimitS} s; stopping the servers`);
	void stopAll().finally(() => process.exit(3));
}, config.timeLimitS * 1000);
watchdog.unref();
for (const signal of ["SIGINT", "SIGTERM"] as const) {
	process.once(signal, () => {
		log(`bench: ${signal}; stopping the servers`);
		void stopAll().finally(() => process.exit(130));
	});
}

function machine() {
	const pkg = (name: string) => {
		try {
			return (JSON.parse(readFileSync(join(ROOT, "node_modules", name, "package.json"), "utf8")) as { version: string })
				.version;
		} catch {
			return "unknown";
		}
	};
	return {
		cpu: cpus()[0]?.model ?? "unknown",
		cores: cpus().length,
		memoryGiB: Math.round(totalmem() / 2 ** 30),
		kernel: release(),
		node: process.version,
		wrangler: pkg("wrangler"),
		workerd: pkg("workerd"),
		ws: pkg("ws"),
		pinned: pin ? { generator: "core 1", servers: "core 0" } : null,
		commit: gitCommit(),
	};
}

function gitCommit(): string {
	try {
		return execFileSync("git", ["rev-parse", "--short", "HEAD"], { cwd: ROOT, stdio: ["ignore", "pipe", "ignore"] })
			.toString()
			.trim();
	} catch {
		return process.env.BENCH_COMMIT ?? "unknown";
	}
}

async function scenario(name: string, fn: () => Promise<void>): Promise<void> {
	log(`\n== ${name} (${elapsed()})`);
	try {
		await checkServers(`before ${name}`);
		await fn();
		await checkServers(`during ${name}`);
	} catch (err) {
		const message = `${name}: ${(err as Error).stack ?? err}`;
		harnessErrors.push(message);
		log(`HARNESS ERROR ${message}`);
	}
}

const idle = () => waitIdle([...servers.values()], log, quick ? 5_000 : 60_000);

/**
 * A server still working off a backlog after a scenario (ours after a relay it
 * could not keep up with) is replaced by a fresh one, so later scenarios start
 * from an idle server; said in the log and the JSON.
 */
async function freshIfBusy(): Promise<void> {
	for (const [kind, s] of servers) {
		if (await waitIdle([s], log, quick ? 5_000 : 20_000)) continue;
		log(`  ${kind}: still busy; restarting it for the next scenarios`);
		warnings.push(`${kind}: restarted after the relay scenario (still working off its backlog)`);
		await s.stop();
		servers.set(
			kind,
			await startServer(kind, {
				cpus: pin ? "0" : null,
				...(persistBase ? { persistBase } : {}),
				...(kind === "ours" ? { vars: config.oursVars } : {}),
			}),
		);
	}
}

/** A runtime wrangler replaced drops every socket: the scenario's figures cannot be trusted. */
async function checkServers(when: string): Promise<void> {
	for (const s of servers.values()) {
		if (!(await s.check())) {
			const message = `${s.kind}: the runtime process was replaced ${when} (wrangler restarted it; sockets dropped)`;
			warnings.push(message);
			log(`WARNING ${message}\n--- ${s.kind} output (tail) ---\n${s.output().slice(-2000)}\n---`);
		}
	}
}

function fdLimit(pid: number): number {
	try {
		const m = /Max open files\s+(\d+)/.exec(readFileSync(`/proc/${pid}/limits`, "utf8"));
		return m ? Number(m[1]) : 1024;
	} catch {
		return 1024;
	}
}

/**
 * The Matchmaker's `lobby_load` lines over a span of ours' scenarios. It
 * logs one per sweep (every 20 s) that had something to count, each with the
 * matches made and rows written since the one before; so the span starts
 * at a line, and ends at the first line after the last chat of the span
 * ended (its `chatEnded` RPC reached the lobby before the chat logged
 * `chat_ended`). Bounded waits; a span whose end line did not come is marked
 * incomplete.
 *
 * The counts are kept in the object's memory: a Matchmaker that hibernates
 * between two sweeps (about 10 s without an event that reaches it) loses
 * them, and its next line starts from zero. An initialised "sentinel" socket
 * therefore sends a ping frame the runtime does not answer itself (it has a
 * payload) every 2 s during the span: the object stays awake, as a lobby
 * with users is, its sweep keeps running, and no count is lost.
 */
async function lobbySpan(server: BenchServer): Promise<{
	end(lastChatEndedAt: number): Promise<LobbyRows>;
	close(): void;
}> {
	const events = new ServerEvents(server);
	let sentinel: Sock | null = null;
	let pinger: NodeJS.Timeout | null = null;
	const close = () => {
		if (pinger) clearInterval(pinger);
		sentinel?.close();
		events.stop();
	};
	try {
		const opened = performance.now();
		sentinel = await openLobby(`${server.wsUrl}${server.lobbyPath}`);
		pinger = setInterval(() => sentinel?.send({ type: "ping", payload: {} }), 2_000);
		const from = await events.waitLobbyLine(opened, config.lobbyLineWaitMs);
		if (from === null)
			log(`  ours: no lobby_load line within ${config.lobbyLineWaitMs / 1000} s; rows per match not measured`);
		return {
			async end(lastChatEndedAt: number) {
				if (from === null) return events.lobbyRows(0, -1, false);
				const to = await events.waitLobbyLine(lastChatEndedAt, config.lobbyLineWaitMs);
				const rows = events.lobbyRows(from, to ?? performance.now(), to !== null);
				log(
					`  ours: Matchmaker over ${rows.seconds} s (${rows.lines} lobby_load lines${to === null ? ", the last one did NOT come" : ""}): ${rows.matches} matches, ${rows.rowsWritten} rows written, ${rows.rowsPerMatch ?? "not measured"} per match`,
				);
				return rows;
			},
			close,
		};
	} catch (err) {
		close();
		throw err;
	}
}

async function main(): Promise<number> {
	if (pin && !(await pinSelf("1")))
		log("bench: could not pin the generator to core 1 (taskset failed); running unpinned");
	log(`bench: ${config.mode} run, servers ${serverKinds.join(", ")}, scenarios ${[...only].join(", ")}`);
	// The hostile scenario starts its own server: the shared ones only for the others.
	const shared = [...only].some((s) => s !== "hostile");
	try {
		// One at a time: two wrangler builds racing on one core have been seen to make one of them reload.
		for (const kind of shared ? serverKinds : []) {
			const s = await startServer(kind, {
				cpus: pin ? "0" : null,
				...(persistBase ? { persistBase } : {}),
				...(kind === "ours" ? { vars: config.oursVars } : {}),
			});
			servers.set(kind, s);
		}
		if (shared) await new Promise((r) => setTimeout(r, 2000));
	} catch (err) {
		harnessErrors.push(`server start: ${(err as Error).message}`);
		log(`HARNESS ERROR ${(err as Error).message}`);
		await stopAll();
		return 1;
	}
	for (const s of servers.values()) {
		log(`  ${s.kind}: ${s.wsUrl} (runtime pid ${s.runtimePid}, direct ${s.directWsUrl}) up at ${elapsed()}`);
	}

	if (only.has("memory")) {
		await scenario("memory", async () => {
			await idle();
			const out = await memoryScenario([...servers.values()], config.memory, log);
			for (const [kind, m] of out) results.memory[kind as ServerKind] = m;
		});
	}
	if (only.has("relay")) {
		await scenario("relay", async () => {
			// The light load first, then the heavy one with ours last: a server
			// that cannot keep up leaves a backlog behind, and on the shared core
			// it would land in the next server's window.
			const order = [...servers.values()].sort((a, b) => Number(a.kind === "ours") - Number(b.kind === "ours"));
			const ours = servers.get("ours");
			// The Matchmaker's rows per match over ours' relay runs, between two of its lines.
			const lobby = ours ? await lobbySpan(ours) : null;
			try {
				if (config.relayLight.pairs > 0) {
					const light = { ...config.relay, ...config.relayLight, label: "light" };
					for (const s of order) {
						await idle();
						const r = await relayScenario(s, light, log);
						results.relayLight[s.kind] = r.windows;
						if (s.kind === "ours") results.rows.relayLight = r.rows;
					}
				}
				if (ours && config.relayOlder.pairs > 0) {
					await idle();
					const r = await relayScenario(ours, { ...config.relay, ...config.relayOlder }, log);
					results.relayOlder.ours = r.windows;
					results.rows.relayOlder = r.rows;
				}
				let last: RelayResult | null = null;
				for (const s of order) {
					await idle();
					const r = await relayScenario(s, config.relay, log);
					results.relay[s.kind] = r.windows;
					if (s.kind === "ours") {
						results.rows.relay = r.rows;
						last = r;
					}
				}
				if (lobby) results.rows.lobby = await lobby.end(last?.lastEndedAt ?? performance.now());
			} finally {
				lobby?.close();
			}
			await freshIfBusy();
		});
	}
	if (only.has("ladder")) {
		await scenario("match and new connections", async () => {
			for (let r = 0; r < repeats; r++) {
				for (const s of servers.values()) {
					await idle();
					const list = results.ladder[s.kind] ?? [];
					list.push(await ladderScenario(s, { ...config.ladder, seed: seed + 100 * r }, log));
					results.ladder[s.kind] = list;
				}
			}
		});
	}
	if (only.has("queue") && servers.has("ours")) {
		await scenario("queue-length independence", async () => {
			// Looked up now: the relay may have replaced the server.
			const ours = servers.get("ours") as BenchServer;
			// wrangler's proxy takes 4 descriptors per socket and the runtime 2:
			// past the runtime's open-file limit no socket can be accepted.
			const cap = Math.floor((fdLimit(ours.runtimePid) - 800) / 2);
			const large = Math.min(config.queue.large, cap);
			if (large < config.queue.large) {
				log(
					`  the runtime may open ${fdLimit(ours.runtimePid)} files (2 per socket): ${large} waiting instead of ${config.queue.large}`,
				);
			}
			await idle();
			results.queue = await queueScenario(ours, { ...config.queue, large }, log);
		});
	}
	if (only.has("handover")) {
		await scenario("hand-over", async () => {
			for (const s of servers.values()) {
				await idle();
				results.handover[s.kind] = await handoverScenario(s, config.handover, log);
			}
		});
	}
	if (only.has("hostile") && serverKinds.includes("ours")) {
		await scenario("hostile load", async () => {
			await idle();
			const s = await startServer("ours", {
				cpus: pin ? "0" : null,
				...(persistBase ? { persistBase } : {}),
				vars: config.hostileVars,
			});
			hostileServer = s;
			try {
				log(`  ours, per-address limits on: ${s.wsUrl} (runtime pid ${s.runtimePid}) up at ${elapsed()}`);
				await new Promise((r) => setTimeout(r, 2000));
				results.hostile = await hostileScenario(s, config.hostile, log);
				if (!(await s.check()) || s.restarts() > 0) {
					warnings.push("hostile: wrangler replaced the runtime or reloaded the Worker during the scenario");
				}
			} finally {
				await s.stop();
				hostileServer = null;
			}
		});
	}
	for (const s of servers.values()) {
		if (s.restarts() > 0)
			harnessErrors.push(`${s.kind}: wrangler reloaded the Worker ${s.restarts()} time(s) during the run`);
	}
	if (harnessErrors.length > 0) {
		for (const s of servers.values()) log(`--- ${s.kind} output (tail) ---\n${s.output().slice(-3000)}`);
	}
	await stopAll();
	return harnessErrors.length > 0 ? 1 : 0;
}

// ---- summaries -------------------------------------------------------------------

function medianMeasured(list: Measured[]) {
	return {
		latency: medianSummary(list.map((m) => m.latency)),
		errors: median(list.map((m) => m.errors)),
		serverCpuS: round(median(list.map((m) => m.serverCpuS)), 2),
		runtimeCpuS: round(median(list.map((m) => m.runtimeCpuS)), 2),
		proxyCpuS: round(median(list.map((m) => m.proxyCpuS)), 2),
		genCpuS: round(median(list.map((m) => m.genCpuS)), 2),
		otherCpuS: round(median(list.map((m) => m.otherCpuS)), 2),
		seconds: round(median(list.map((m) => m.seconds)), 2),
		loopP99: round(median(list.map((m) => m.loop.p99))),
		valid: list.every((m) => m.loop.valid),
		/** Other processes on the machine used more than a quarter of a core during a window. */
		disturbed: list.some((m) => m.otherCpuS > 0.25 * m.seconds),
	};
}

function summarize() {
	const rows: Row[] = [];
	const relay: Partial<Record<ServerKind, ReturnType<typeof medianMeasured>>> = {};
	for (const [kind, list] of Object.entries(results.relay) as [ServerKind, Measured[]][]) {
		relay[kind] = medianMeasured(list);
		rows.push({ scenario: `relay ${config.relay.pairs}×${config.relay.ratePerPair}/s`, server: kind, ...relay[kind] });
	}
	for (const [kind, list] of Object.entries(results.relayLight) as [ServerKind, Measured[]][]) {
		rows.push({
			scenario: `relay ${config.relayLight.pairs}×${config.relay.ratePerPair}/s`,
			server: kind,
			...medianMeasured(list),
		});
	}
	if (results.relayOlder.ours) {
		rows.push({
			scenario: `relay ${config.relayOlder.pairs}×${config.relay.ratePerPair}/s, no receipts`,
			server: "ours",
			...medianMeasured(results.relayOlder.ours),
		});
	}
	const ladder: Partial<
		Record<
			ServerKind,
			{ joinsPerSec: number; connectsPerSec: number; perRepeat: { joins: number; connects: number }[] }
		>
	> = {};
	const firstRate = config.ladder.rates[0] ?? 0;
	for (const [kind, list] of Object.entries(results.ladder) as [ServerKind, LadderResult[]][]) {
		ladder[kind] = {
			joinsPerSec: median(list.map((l) => l.sustainedJoinsPerSec)),
			connectsPerSec: median(list.map((l) => l.sustainedConnectsPerSec)),
			perRepeat: list.map((l) => ({ joins: l.sustainedJoinsPerSec, connects: l.sustainedConnectsPerSec })),
		};
		const at = (pick: (l: LadderResult) => Measured | null | undefined) =>
			list.map(pick).filter((m): m is Measured => m !== null && m !== undefined);
		const first = (l: LadderResult) => l.steps.find((s) => !s.retried);
		const firstMatch = at((l) => first(l)?.match);
		const firstConnect = at((l) => first(l)?.connect);
		if (firstMatch.length > 0)
			rows.push({ scenario: `match @ ${firstRate} joins/s`, server: kind, ...medianMeasured(firstMatch) });
		if (firstConnect.length > 0)
			rows.push({ scenario: `connect @ ${firstRate}/s`, server: kind, ...medianMeasured(firstConnect) });
		// The step at the sustained rate of each repeat.
		const sustained = at((l) => l.steps.find((s) => !s.retried && s.rate === l.sustainedJoinsPerSec)?.match);
		if (sustained.length > 0) {
			rows.push({
				scenario: `match @ sustained (${ladder[kind]?.joinsPerSec}/s)`,
				server: kind,
				...medianMeasured(sustained),
			});
		}
	}
	let queue: { small: ReturnType<typeof medianMeasured>; large: ReturnType<typeof medianMeasured> } | null = null;
	if (results.queue) {
		queue = { small: medianMeasured(results.queue.small), large: medianMeasured(results.queue.large) };
		rows.push({ scenario: `match, ${results.queue.waiting.small} waiting`, server: "ours", ...queue.small });
		rows.push({ scenario: `match, ${results.queue.waiting.large} waiting`, server: "ours", ...queue.large });
	}
	const handover: Partial<Record<ServerKind, ReturnType<typeof medianMeasured>>> = {};
	for (const [kind, list] of Object.entries(results.handover) as [ServerKind, Measured[]][]) {
		handover[kind] = medianMeasured(list);
		rows.push({ scenario: "hand-over match_found → chat_joined", server: kind, ...handover[kind] });
	}

	const h = results.hostile;
	if (h) {
		for (const phase of [h.quiet, h.attack]) {
			rows.push({ scenario: `hostile: match, ${phase.name}`, server: "ours", ...medianMeasured([phase.match]) });
			rows.push({ scenario: `hostile: relay, ${phase.name}`, server: "ours", ...medianMeasured([phase.relay]) });
		}
	}

	const targets: Target[] = [];
	const r = (k: ServerKind, p: keyof Summary) => relay[k]?.latency[p] ?? Number.NaN;
	if (relay.ours && relay["bare-do"]) {
		targets.push(
			target({
				name: "relay p50",
				figure: "ms, ours / bare-do",
				ours: r("ours", "p50"),
				reference: r("bare-do", "p50"),
				referenceName: "bare-do",
				op: "<=",
				limit: 1.2,
				nodeWs: relay["node-ws"] ? r("node-ws", "p50") : null,
			}),
			target({
				name: "relay p99",
				figure: "ms, ours / bare-do",
				ours: r("ours", "p99"),
				reference: r("bare-do", "p99"),
				referenceName: "bare-do",
				op: "<=",
				limit: 1.5,
				nodeWs: relay["node-ws"] ? r("node-ws", "p99") : null,
			}),
		);
	}
	const light = (k: ServerKind) => (results.relayLight[k] ? medianMeasured(results.relayLight[k] as Measured[]) : null);
	const lo = light("ours");
	const lb = light("bare-do");
	if (lo && lb) {
		// Not the targets' load: the same ratios with nobody queueing, for where the per-message cost goes.
		const note = `${config.relayLight.pairs} chats × ${config.relay.ratePerPair}/s, informational`;
		const ln = light("node-ws");
		targets.push(
			target({
				name: "relay p50, light load",
				figure: "ms, ours / bare-do",
				ours: lo.latency.p50,
				reference: lb.latency.p50,
				referenceName: "bare-do",
				op: "<=",
				limit: 1.2,
				nodeWs: ln?.latency.p50 ?? null,
				note,
			}),
			target({
				name: "relay p99, light load",
				figure: "ms, ours / bare-do",
				ours: lo.latency.p99,
				reference: lb.latency.p99,
				referenceName: "bare-do",
				op: "<=",
				limit: 1.5,
				nodeWs: ln?.latency.p99 ?? null,
				note,
			}),
		);
	}
	targets.push(...receiptTargets());
	if (ladder.ours && ladder["bare-do"]) {
		targets.push(
			target({
				name: "joins/s at match p99 ≤ 100 ms",
				figure: "joins/s, ours / bare-do",
				ours: ladder.ours.joinsPerSec,
				reference: ladder["bare-do"].joinsPerSec,
				referenceName: "bare-do",
				op: ">=",
				limit: 0.8,
				nodeWs: ladder["node-ws"]?.joinsPerSec ?? null,
			}),
			target({
				name: "new connections/s at p99 ≤ 100 ms",
				figure: "connects/s, ours / bare-do",
				ours: ladder.ours.connectsPerSec,
				reference: ladder["bare-do"].connectsPerSec,
				referenceName: "bare-do",
				op: ">=",
				limit: 0.8,
				nodeWs: ladder["node-ws"]?.connectsPerSec ?? null,
			}),
		);
	}
	if (queue && results.queue) {
		const w = results.queue.waiting;
		targets.push(
			target({
				name: `match p50, ${w.large} vs ${w.small} waiting`,
				figure: "ms, long / short queue",
				ours: queue.large.latency.p50,
				reference: queue.small.latency.p50,
				referenceName: `${w.small} waiting`,
				op: "<=",
				limit: 1.2,
			}),
			target({
				name: `match p99, ${w.large} vs ${w.small} waiting`,
				figure: "ms, long / short queue",
				ours: queue.large.latency.p99,
				reference: queue.small.latency.p99,
				referenceName: `${w.small} waiting`,
				op: "<=",
				limit: 1.2,
			}),
		);
	}
	const mem = results.memory.ours;
	if (mem) {
		const floor = results.memory["bare-do"];
		const states = [
			{ when: "awake", figure: "KiB of runtime RSS", key: "kibPerUserAwake" },
			{ when: "idle", figure: `KiB after ${config.memory.hibernateWaitS} s without events`, key: "kibPerUserIdle" },
		] as const;
		for (const { when, figure, key } of states) {
			targets.push(
				target({
					name: `memory per waiting user, ${when}`,
					figure,
					ours: mem[key],
					reference: null,
					referenceName: "",
					value: mem[key],
					op: "<=",
					limit: 10,
					nodeWs: results.memory["node-ws"]?.[key] ?? null,
					note: `bare-do ${floor?.[key] ?? "n/a"}`,
				}),
			);
			// The floor's runtime already holds ~178 KiB per open WebSocket under
			// wrangler dev: what our server adds over it is the part it controls.
			if (floor) {
				targets.push(
					target({
						name: `memory per waiting user over the floor's, ${when}`,
						figure: "KiB of runtime RSS, ours - bare-do",
						ours: mem[key],
						reference: floor[key],
						referenceName: "bare-do",
						value: Math.round((mem[key] - floor[key]) * 100) / 100,
						op: "<=",
						limit: 10,
					}),
				);
			}
		}
		if (mem.heapKibPerUser !== null) {
			targets.push(
				target({
					name: "memory per waiting user, the isolate's heap",
					figure: "KiB of V8 + embedder heap after a GC",
					ours: mem.heapKibPerUser,
					reference: null,
					referenceName: "",
					value: mem.heapKibPerUser,
					op: "<=",
					limit: 10,
					note: `bare-do ${results.memory["bare-do"]?.heapKibPerUser ?? "n/a"}`,
				}),
			);
		}
	}
	if (h) {
		const versus = (name: string, attack: number, quiet: number) =>
			target({
				name: `hostile: ${name}, attack vs quiet`,
				figure: "ms, real users under attack / quiet",
				ours: attack,
				reference: quiet,
				referenceName: "quiet",
				op: "<=",
				limit: 1.5,
			});
		targets.push(
			versus("match p50", h.attack.match.latency.p50, h.quiet.match.latency.p50),
			versus("match p99", h.attack.match.latency.p99, h.quiet.match.latency.p99),
			versus("relay p50", h.attack.relay.latency.p50, h.quiet.relay.latency.p50),
			versus("relay p99", h.attack.relay.latency.p99, h.quiet.relay.latency.p99),
			target({
				name: "hostile: attacking sockets still open at the end",
				figure: "sockets",
				ours: h.attackingSockets.stillOpen,
				reference: null,
				referenceName: "",
				value: h.attackingSockets.stillOpen,
				op: "<=",
				limit: 0,
				note: `of ${h.attackingSockets.opened} opened`,
			}),
			target({
				name: "hostile: Matchmaker stats() calls in the attack",
				figure: "rpc_stats in lobby_load",
				ours: h.attack.lobbyLoad.total.rpc_stats,
				reference: null,
				referenceName: "",
				value: h.attack.lobbyLoad.total.rpc_stats,
				op: "<=",
				limit: 0,
				note: `${h.stats.ok} /api/stats served`,
			}),
		);
	}
	return { rows, relay, ladder, queue, handover, targets };
}

/** The median over windows of a latency summary a relay window keeps in `extra` (ack, receipt). */
function extraLatency(list: Measured[] | undefined, key: "ackLatency" | "deliveredLatency"): Summary | null {
	const found = (list ?? []).map((m) => m.extra?.[key] as Summary | null | undefined).filter((x): x is Summary => !!x);
	return found.length > 0 ? medianSummary(found) : null;
}

/** Receipts (`received` frames) the clients sent per message, over all windows of a run. */
function receiptsPerMessage(list: Measured[] | undefined): number {
	let receipts = 0;
	let sent = 0;
	for (const m of list ?? []) {
		receipts += Number(m.extra?.receipts ?? 0);
		sent += Number(m.extra?.sent ?? 0);
	}
	return sent > 0 ? round(receipts / sent) : Number.NaN;
}

/** Rows written (the bill) and the receipts' latencies: the goal, and figures beside it. */
function receiptTargets(): Target[] {
	const out: Target[] = [];
	const heavy = results.rows.relay;
	const load = `${config.relay.pairs} chats × ${config.relay.ratePerPair}/s`;
	if (heavy) {
		out.push(
			target({
				name: "rows per 1,000 messages, both sides confirming",
				figure: "message rows written per 1,000 messages",
				ours: heavy.messageRowsPer1000,
				reference: null,
				referenceName: "",
				value: heavy.messageRowsPer1000,
				op: "<=",
				limit: 10,
				note: `${load}; ${heavy.messageRowsWritten} rows for ${heavy.messages} messages in ${heavy.chats} chats (chat_ended lines${heavy.missing > 0 ? `, ${heavy.missing} missing` : ""})`,
			}),
			info({
				name: "all rows per 1,000 messages, both sides confirming",
				figure: "rows written per 1,000 messages, chats' own rows included",
				value: heavy.rowsPer1000,
				note: `${load}; ${heavy.rowsWritten} rows`,
			}),
			info({
				name: "rows per chat, match to end",
				figure: "rows written per chat (chat_ended lines)",
				value: heavy.rowsPerChat,
				note: `${load}; ${heavy.otherRowsPerChat} of them not for messages`,
			}),
		);
	}
	const ack = extraLatency(results.relay.ours, "ackLatency");
	const delivered = extraLatency(results.relay.ours, "deliveredLatency");
	for (const [what, figure, l] of [
		["ack latency", "ms, send → message_sent", ack],
		["receipt latency", "ms, send → message_delivered", delivered],
	] as const) {
		if (!l) continue;
		out.push(
			info({ name: `${what} p50`, figure, value: l.p50, note: `${load}, receipts after ${receiptDelayMs} ms` }),
			info({ name: `${what} p99`, figure, value: l.p99, note: `${load}, receipts after ${receiptDelayMs} ms` }),
		);
	}
	const older = results.rows.relayOlder;
	const olderAck = extraLatency(results.relayOlder.ours, "ackLatency");
	const olderLoad = `${config.relayOlder.pairs} chats × ${config.relay.ratePerPair}/s, no receipts`;
	if (olderAck) {
		out.push(
			info({
				name: "older client as partner: ack latency p50",
				figure: "ms, send → message_sent",
				value: olderAck.p50,
				note: olderLoad,
			}),
			info({
				name: "older client as partner: ack latency p99",
				figure: "ms, send → message_sent",
				value: olderAck.p99,
				note: olderLoad,
			}),
		);
	}
	if (older) {
		out.push(
			info({
				name: "older client as partner: rows per 1,000 messages",
				figure: "message rows written per 1,000 messages",
				value: older.messageRowsPer1000,
				note: `${olderLoad}; all rows ${older.rowsPer1000} per 1,000, ${older.messagesStored} of ${older.messages} messages stored`,
			}),
		);
	}
	const lobby = results.rows.lobby;
	if (lobby) {
		out.push(
			info({
				name: "rows per match, Matchmaker",
				figure: "rows written / matches (lobby_load lines)",
				value: lobby.rowsPerMatch ?? Number.NaN,
				note: `${lobby.rowsWritten} rows, ${lobby.matches} matches over ours' relay runs (${lobby.lines} lines, ${lobby.seconds} s${lobby.complete ? "" : ", the closing line did not come"})`,
			}),
		);
	}
	return out;
}

function receiptsTable(): string {
	const runs: [string, Measured[] | undefined, ChatRows | null, boolean][] = [
		[`relay ${config.relay.pairs}×${config.relay.ratePerPair}/s`, results.relay.ours, results.rows.relay, true],
		[
			`relay ${config.relayLight.pairs}×${config.relay.ratePerPair}/s`,
			results.relayLight.ours,
			results.rows.relayLight,
			true,
		],
		[
			`relay ${config.relayOlder.pairs}×${config.relay.ratePerPair}/s, no receipts`,
			results.relayOlder.ours,
			results.rows.relayOlder,
			false,
		],
	];
	const cell = (l: Summary | null) => (l ? `${l.p50} / ${l.p99}` : "-");
	const body = runs
		.filter(([, list]) => list && list.length > 0)
		.map(([name, list, r, receipts]) => [
			name,
			receipts ? `after ${receiptDelayMs} ms` : "none",
			receipts ? String(receiptsPerMessage(list)) : "-",
			cell(extraLatency(list, "ackLatency")),
			cell(extraLatency(list, "deliveredLatency")),
			r ? `${r.chats}${r.missing > 0 ? ` (${r.missing} missing)` : ""}` : "-",
			r ? String(r.messages) : "-",
			r ? String(r.messagesStored) : "-",
			r ? String(r.messageRowsPer1000) : "-",
			r ? String(r.rowsPer1000) : "-",
			r ? String(r.rowsPerChat) : "-",
		]);
	if (body.length === 0) return "";
	const lobby = results.rows.lobby;
	return [
		"Delivery receipts and rows written (ours; rows from the chats' chat_ended lines; latencies medians of windows):",
		plainTable(
			[
				"run",
				"receipts",
				"receipts/msg",
				"ack p50/p99 ms",
				"delivered p50/p99 ms",
				"chats ended",
				"messages",
				"stored",
				"msg rows/1000",
				"rows/1000",
				"rows/chat",
			],
			body,
		),
		lobby
			? `Matchmaker over ours' relay runs: ${lobby.matches} matches, ${lobby.rowsWritten} rows written, ${lobby.rowsPerMatch ?? "not measured"} rows per match (${lobby.lines} lobby_load lines over ${lobby.seconds} s${lobby.complete ? "" : "; the closing line did not come"}; upgrades ${lobby.upgrades}, frames ${lobby.frames}, rpc_chat ${lobby.rpcChat}, alarms ${lobby.alarms})`
			: "",
		"",
	].join("\n");
}

function ladderTable(): string {
	const out: string[][] = [];
	for (const [kind, list] of Object.entries(results.ladder) as [ServerKind, LadderResult[]][]) {
		list.forEach((l, i) => {
			for (const s of l.steps) {
				out.push([
					`${kind} #${i + 1}`,
					`${s.rate}/s${s.retried ? " (1st)" : ""}`,
					`${s.connect.latency.p50} / ${s.connect.latency.p99}`,
					String(s.connect.errors),
					s.connect.pass ? "pass" : "MISS",
					s.match ? `${s.match.latency.p50} / ${s.match.latency.p99}` : "-",
					s.match ? String(s.match.errors) : "-",
					s.match ? (s.match.pass ? "pass" : "MISS") : "-",
					s.match ? `${s.match.serverCpuS}` : "-",
					`${s.connect.loop.p99} / ${s.match?.loop.p99 ?? "-"}`,
				]);
			}
		});
	}
	return plainTable(
		[
			"server #repeat",
			"rate",
			"connect p50/p99 ms",
			"err",
			"",
			"match p50/p99 ms",
			"err",
			"",
			"srv CPU s (joins)",
			"loop p99 ms",
		],
		out,
	);
}

function hostileTable(): string {
	const h = results.hostile;
	if (!h) return "";
	const load = (l: HostileResult["quiet"]["lobbyLoad"]) =>
		(["upgrades", "refused_upgrades", "frames", "closes", "rpc_chat", "rpc_stats", "alarms"] as const).map(
			(k) => `${l.total[k]} (${l.perSecond[k]}/s)`,
		);
	const socketRows = [
		...h.sweepers.map((s) => [
			`sweeper, ${s.address}`,
			String(s.attempts),
			String(s.accepted),
			JSON.stringify(s.refused429),
			JSON.stringify(s.closes),
			`at most ${s.peakOpen} open at once; opened → closed ${s.openToCloseS ? `${s.openToCloseS.min}–${s.openToCloseS.max} s` : "-"}`,
		]),
		...(
			[
				["flood before init", h.flood],
				["1 MiB frames", h.big],
			] as const
		).map(([name, r]) => [
			name,
			String(r.sockets + r.refused429),
			String(r.sockets),
			String(r.refused429),
			JSON.stringify(r.closes),
			`${r.framesSent} frames sent, ${r.answers} answered`,
		]),
	];
	return [
		`Hostile load (${h.attackS} s of attack; addresses ${h.addressing.viaHeader ? "by CF-Connecting-IP" : "by loopback source address"}):`,
		plainTable(
			["lobby_load", "seconds", "upgrades", "refused", "frames", "closes", "rpc_chat", "rpc_stats", "alarms"],
			[h.quiet, h.attack].map((p) => [p.name, String(p.lobbyLoad.seconds), ...load(p.lobbyLoad)]),
		),
		plainTable(["attacker", "attempts", "accepted", "refused 429", "closes", "notes"], socketRows),
		`attacking sockets: ${h.attackingSockets.opened} opened, ${h.attackingSockets.refused429} refused 429, closed ${JSON.stringify(h.attackingSockets.closed)}, ${h.attackingSockets.stillOpen} still open at the end`,
		`/api/stats: ${h.stats.ok} served (${h.stats.perSecond}/s, p50 ${h.stats.latency.p50} p99 ${h.stats.latency.p99} ms), failed ${JSON.stringify(h.stats.failed)}; Matchmaker stats() calls in the attack: ${h.attack.lobbyLoad.total.rpc_stats}`,
		`real users, attack / quiet: match p50 ${h.ratios.matchP50}× p99 ${h.ratios.matchP99}×, relay p50 ${h.ratios.relayP50}× p99 ${h.ratios.relayP99}×`,
		"",
	].join("\n");
}

const code = await main();
clearTimeout(watchdog);
const summary = summarize();
const doc = {
	machine: machine(),
	config,
	durationS: Math.round((Date.now() - startedAt) / 1000),
	loopDelayLimitMs: LOOP_DELAY_LIMIT_MS,
	harnessErrors,
	warnings,
	valid: summary.rows.every((r) => r.valid),
	table: summary.rows,
	targets: summary.targets,
	sustained: summary.ladder,
	memory: results.memory,
	hostile: results.hostile,
	rows: results.rows,
	raw: results,
};
const human = [
	"",
	`Flamingo bench (${config.mode}), ${doc.machine.cores} cores (${doc.machine.cpu}), node ${doc.machine.node}, wrangler ${doc.machine.wrangler}, workerd ${doc.machine.workerd}; ${doc.durationS} s`,
	"",
	latencyTable(summary.rows),
	"CPU s: utime+stime in the window; runtime/proxy: the runtime workerd and wrangler's proxy workerd (part of srv); other: busy CPU of",
	"the machine not from the server or the generator (other processes, kernel); '(busy machine)': other > 1/4 core. Medians of repeats.",
	"",
	"Rate ladders (p50 / p99 ms per step; a step passes at p99 ≤ 100 ms with no error and a valid generator):",
	ladderTable(),
	"",
	plainTable(
		["server", "sustained joins/s", "sustained new connections/s", "per repeat (joins, connects)"],
		(Object.entries(summary.ladder) as [ServerKind, NonNullable<(typeof summary.ladder)["ours"]>][]).map(([k, v]) => [
			k,
			String(v.joinsPerSec),
			String(v.connectsPerSec),
			v.perRepeat.map((p) => `${p.joins}, ${p.connects}`).join(" | "),
		]),
	),
	"",
	plainTable(
		[
			"memory",
			"sockets",
			"RSS before MiB",
			"after open",
			"after idle",
			"KiB/user awake",
			"KiB/user idle",
			"isolate heap KiB/user",
		],
		(Object.entries(results.memory) as [ServerKind, MemoryResult][]).map(([k, m]) => [
			k,
			String(m.sockets),
			(m.rssBeforeKiB / 1024).toFixed(0),
			(m.rssAfterOpenKiB / 1024).toFixed(0),
			(m.rssAfterIdleKiB / 1024).toFixed(0),
			String(m.kibPerUserAwake),
			String(m.kibPerUserIdle),
			m.heapKibPerUser === null ? "-" : String(m.heapKibPerUser),
		]),
	),
	"",
	hostileTable(),
	receiptsTable(),
	targetTable(summary.targets),
	"",
	doc.valid
		? "generator: every window valid"
		: `generator: some windows INVALID (event-loop delay p99 > ${LOOP_DELAY_LIMIT_MS} ms)`,
	warnings.length > 0 ? `WARNINGS:\n${warnings.join("\n")}` : "",
	harnessErrors.length > 0 ? `HARNESS ERRORS:\n${harnessErrors.join("\n")}` : "harness: ok",
].join("\n");
if (json && jsonPath) {
	writeFileSync(jsonPath, `${JSON.stringify(doc, null, 2)}\n`);
	console.log(human);
	console.log(`\nJSON written to ${jsonPath}`);
} else if (json) {
	log(human);
	console.log(JSON.stringify(doc, null, 2));
} else {
	console.log(human);
}
process.exit(code);
