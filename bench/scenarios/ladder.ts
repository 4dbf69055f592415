// Scenario 2, match and new connections, at rising rates. Each step at rate R:
//  1. new connections: 2K sockets arrive as a Poisson process of rate R, each
//     upgrade + `init` → `ready`, timed from its intended start;
//  2. joins: K pairs arrive as a Poisson process of rate R/2 (so R joins/s),
//     both sockets of a pair send `join_queue` at the intended time; match
//     latency is the later intended join of a matched pair → the later of its
//     two `match_found` (pairs are grouped by chat_id: FIFO decides who meets whom).
// A figure passes a step when its p99 ≤ the threshold, nothing failed, and the
// generator kept up; a near miss is run once more before it counts. The
// ladder goes on while either figure still passes.
import { openLobby, type Sock } from "../lib/client.ts";
import { Latency } from "../lib/histogram.ts";
import { poissonTimes, rng, runSchedule, sleep } from "../lib/poisson.ts";
import type { BenchServer } from "../lib/servers.ts";
import { Errors, startWindow } from "../lib/window.ts";
import { JOIN_ANY, type Log, type Measured } from "./common.ts";

export interface LadderOptions {
	rates: number[];
	stepS: number;
	thresholdMs: number;
	drainMs: number;
	seed: number;
	/** Run a near miss once more (off in the quick smoke run, to keep it short). */
	retry: boolean;
}

export interface LadderStep {
	rate: number;
	/** A first attempt that missed and was run again (the next step in the list is the verdict). */
	retried?: boolean;
	connect: Measured & { pass: boolean };
	match: (Measured & { pass: boolean }) | null;
}

export interface LadderResult {
	steps: LadderStep[];
	/** Highest rate whose step passed, 0 if none did. */
	sustainedJoinsPerSec: number;
	sustainedConnectsPerSec: number;
}

export async function ladderScenario(server: BenchServer, o: LadderOptions, log: Log): Promise<LadderResult> {
	const url = `${server.wsUrl}${server.lobbyPath}`;
	const steps: LadderStep[] = [];
	let matchAlive = true;
	let connectAlive = true;
	let sustainedJoinsPerSec = 0;
	let sustainedConnectsPerSec = 0;
	// Warm-up: a few pairs end to end, not recorded.
	await runStep(server, url, o.rates[0] ?? 50, Math.min(1, o.stepS), o, o.seed + 999, true);
	for (const [k, rate] of o.rates.entries()) {
		if (!matchAlive && !connectAlive) break;
		let step = await runStep(server, url, rate, o.stepS, o, o.seed + k, matchAlive);
		// One spike should not end a ladder: a step that missed is run once more,
		// and a figure passes the rate if either attempt passed.
		// Only a near miss (p99 within 3× the threshold) is a possible spike worth a second try.
		const near = (m: Measured & { pass: boolean }) => !m.pass && m.latency.p99 <= 3 * o.thresholdMs;
		if (o.retry && ((connectAlive && near(step.connect)) || (matchAlive && step.match && near(step.match)))) {
			steps.push({ ...step, retried: true });
			log(
				`  ${server.kind}: ${rate}/s missed (connect p99 ${step.connect.latency.p99}, match p99 ${step.match?.latency.p99 ?? "-"} ms); once more`,
			);
			await sleep(1000);
			const again = await runStep(server, url, rate, o.stepS, o, o.seed + k + 50, matchAlive);
			step = {
				...again,
				connect: step.connect.pass ? step.connect : again.connect,
				match: step.match?.pass ? step.match : again.match,
			};
		}
		steps.push(step);
		const c = step.connect;
		const m = step.match;
		log(
			`  ${server.kind}: ${rate}/s  connect p50 ${c.latency.p50} p99 ${c.latency.p99} ms err ${c.errors}${c.pass ? "" : " MISS"}` +
				(m ? ` | match p50 ${m.latency.p50} p99 ${m.latency.p99} ms err ${m.errors}${m.pass ? "" : " MISS"}` : "") +
				` | loop p99 ${c.loop.p99}/${m?.loop.p99 ?? "-"} ms`,
		);
		if (connectAlive && c.pass) sustainedConnectsPerSec = rate;
		else connectAlive = false;
		if (matchAlive && m?.pass) sustainedJoinsPerSec = rate;
		else matchAlive = false;
		await sleep(1000);
	}
	return { steps, sustainedJoinsPerSec, sustainedConnectsPerSec };
}

async function runStep(
	server: BenchServer,
	url: string,
	rate: number,
	stepS: number,
	o: LadderOptions,
	seed: number,
	withJoins: boolean,
): Promise<LadderStep> {
	const random = rng(seed);
	const pairOffsets = poissonTimes(rate / 2, stepS * 1000, random);
	const pairs = pairOffsets.length;
	// 1. New connections at rate R: 2K arrivals, Poisson, timed from intended start.
	const connectOffsets: number[] = [];
	let t = 0;
	for (let i = 0; i < 2 * pairs; i++) {
		t += -Math.log(1 - random()) * (1000 / rate);
		connectOffsets.push(t);
	}
	const socks: (Sock | null)[] = new Array(2 * pairs).fill(null);
	const connectLatency = new Latency();
	const connectErrors = new Errors();
	const pending: Promise<void>[] = [];
	const cw = startWindow(server);
	await runSchedule(performance.now() + 20, connectOffsets, (i, intendedAt) => {
		pending.push(
			openLobby(url, 10_000).then(
				(s) => {
					connectLatency.recordMs(performance.now() - intendedAt);
					socks[i] = s;
				},
				(err: Error) => connectErrors.add(err.message.includes("timed out") ? "timeout" : "failed"),
			),
		);
	});
	await Promise.all(pending);
	const connectCost = cw.stop();
	const connect = {
		...connectCost,
		latency: connectLatency.summary(),
		errors: connectErrors.total,
		errorKinds: connectErrors.kinds,
		extra: { offeredPerSec: rate, arrivals: 2 * pairs },
		pass: false,
	};
	connect.pass = connect.errors === 0 && connect.latency.p99 <= o.thresholdMs && connect.loop.valid;
	if (!withJoins) {
		for (const s of socks) s?.close();
		return { rate, connect, match: null };
	}
	await sleep(500);

	// 2. Joins at rate R: K pair arrivals at R/2, both sockets join at the intended time.
	const joinedAt = new Map<Sock, number>();
	const chats = new Map<string, { intended: number[]; at: number[] }>();
	const matchLatency = new Latency();
	const matchErrors = new Errors();
	let matched = 0;
	for (const s of socks) {
		if (!s) continue;
		s.onFrame = (frame, at) => {
			if (frame.type === "match_found") {
				const id = String(frame.payload.chat_id);
				const c = chats.get(id) ?? { intended: [], at: [] };
				c.intended.push(joinedAt.get(s) ?? at);
				c.at.push(at);
				chats.set(id, c);
				if (c.at.length === 2) {
					matchLatency.recordMs(Math.max(...c.at) - Math.max(...c.intended));
					matched += 2;
				}
			} else if (frame.type === "error") {
				matchErrors.add(`error ${String(frame.payload.code)}`);
			}
		};
	}
	const mw = startWindow(server);
	await runSchedule(performance.now() + 20, pairOffsets, (i, intendedAt) => {
		for (const s of [socks[2 * i], socks[2 * i + 1]]) {
			if (!s) continue;
			joinedAt.set(s, intendedAt);
			s.send(JOIN_ANY);
		}
	});
	const joined = joinedAt.size;
	const drainEnd = performance.now() + o.drainMs;
	while (performance.now() < drainEnd && matched < joined - (joined % 2)) await sleep(20);
	const matchCost = mw.stop();
	matchErrors.add("not matched within the drain time", joined - (joined % 2) - matched);
	for (const s of socks) if (s?.isOpen) s.close();
	const match = {
		...matchCost,
		latency: matchLatency.summary(),
		errors: matchErrors.total,
		errorKinds: matchErrors.kinds,
		extra: {
			offeredPerSec: rate,
			joins: joined,
			socketsMissing: 2 * pairs - joined,
			matchedPerSec: Math.round((matched / stepS) * 10) / 10,
		},
		pass: false,
	};
	match.pass = match.errors === 0 && match.latency.p99 <= o.thresholdMs && match.loop.valid;
	return { rate, connect, match };
}
