// Scenario 1, relay: N chats, each sending r messages/s on an open-loop Poisson
// schedule (the superposition of N Poisson processes of rate r is one of rate
// N·r with each arrival given to a uniformly chosen chat and side). Latency is
// sender's intended send time → partner's `message_received`, both sockets in
// this process, one clock. One warm-up, then `repeats` back-to-back windows.

import { Latency } from "../lib/histogram.ts";
import { poissonTimes, rng, runSchedule, sleep } from "../lib/poisson.ts";
import type { BenchServer } from "../lib/servers.ts";
import { Errors, startWindow } from "../lib/window.ts";
import { type ChatPair, closeChats, type Log, type Measured, openChats } from "./common.ts";

export interface RelayOptions {
	pairs: number;
	ratePerPair: number;
	warmupS: number;
	windowS: number;
	repeats: number;
	drainMs: number;
	seed: number;
}

/** Padding so a message is about 80 characters, a short chat line. */
const FILLER = "the quick brown fox jumps over the lazy dog, again and again and";

export async function relayScenario(server: BenchServer, o: RelayOptions, log: Log): Promise<Measured[]> {
	const chats = await openChats(server, o.pairs, `relay${o.seed}x${o.pairs}x`, log);
	try {
		return await measure(server, chats, o, log);
	} finally {
		await closeChats(server, chats);
	}
}

async function measure(server: BenchServer, chats: ChatPair[], o: RelayOptions, log: Log): Promise<Measured[]> {
	const random = rng(o.seed);
	const totalMs = (o.warmupS + o.repeats * o.windowS) * 1000;
	const offsets = poissonTimes(o.pairs * o.ratePerPair, totalMs, random);
	const n = offsets.length;
	const pairOf = new Uint32Array(n);
	const fromA = new Uint8Array(n);
	for (let i = 0; i < n; i++) {
		pairOf[i] = Math.floor(random() * chats.length);
		fromA[i] = random() < 0.5 ? 1 : 0;
	}
	const intended = new Float64Array(n);
	const received = new Uint8Array(n);
	const acked = new Uint8Array(n);
	const windowOf = (offset: number) => Math.floor((offset - o.warmupS * 1000) / (o.windowS * 1000));
	const hist = Array.from({ length: o.repeats }, () => new Latency());
	const ackHist = Array.from({ length: o.repeats }, () => new Latency());
	const errs = Array.from({ length: o.repeats }, () => new Errors());
	const warmErrors = new Errors();
	let start = 0;
	const errorsAt = (at: number) => {
		const w = windowOf(at - start);
		return w >= 0 && w < o.repeats ? (errs[w] as Errors) : warmErrors;
	};

	const onFrame = (frame: { type: string; payload: { content?: string; client_msg_id?: string } }, at: number) => {
		if (frame.type === "message_received") {
			const content = frame.payload.content ?? "";
			const seq = Number(content.slice(0, content.indexOf(" ")));
			if (!(seq >= 0 && seq < n) || received[seq]) return errorsAt(at).add("unexpected message");
			received[seq] = 1;
			const w = windowOf((intended[seq] as number) - start);
			if (w >= 0 && w < o.repeats) (hist[w] as Latency).recordMs(at - (intended[seq] as number));
		} else if (frame.type === "message_sent") {
			const seq = Number(frame.payload.client_msg_id);
			if (!(seq >= 0 && seq < n) || acked[seq]) return;
			acked[seq] = 1;
			const w = windowOf((intended[seq] as number) - start);
			if (w >= 0 && w < o.repeats) (ackHist[w] as Latency).recordMs(at - (intended[seq] as number));
		} else if (frame.type === "error") {
			errorsAt(at).add(`error ${String((frame.payload as { code?: string }).code)}`);
		} else if (frame.type !== "partner_status" && frame.type !== "partner_typing") {
			errorsAt(at).add(`unexpected ${frame.type}`);
		}
	};
	for (const c of chats) {
		c.a.onFrame = onFrame;
		c.b.onFrame = onFrame;
		for (const s of [c.a, c.b]) {
			s.onClose = (code) => {
				errorsAt(performance.now()).add(`closed ${code}`);
			};
		}
	}

	// Window boundaries: CPU and loop delay per window.
	const costs: ReturnType<ReturnType<typeof startWindow>["stop"]>[] = [];
	start = performance.now() + 50;
	log(
		`  ${server.kind}: relay ${o.pairs} chats × ${o.ratePerPair}/s, warm-up ${o.warmupS} s, ${o.repeats} × ${o.windowS} s`,
	);
	const boundaries: Promise<void>[] = [];
	let current: ReturnType<typeof startWindow> | null = null;
	for (let w = 0; w <= o.repeats; w++) {
		const at = start + (o.warmupS + w * o.windowS) * 1000;
		boundaries.push(
			sleep(at - performance.now()).then(() => {
				if (current) costs.push(current.stop());
				current = w < o.repeats ? startWindow(server) : null;
			}),
		);
	}
	const sendTo = (i: number, intendedAt: number) => {
		const chat = chats[pairOf[i] as number] as ChatPair;
		intended[i] = intendedAt;
		const from = fromA[i] ? chat.a : chat.b;
		from.send(`{"type":"send_message","payload":{"content":"${i} ${FILLER}","client_msg_id":"${i}"}}`);
	};
	await runSchedule(start, offsets, sendTo);
	await Promise.all(boundaries);
	// Drain: give late messages a bounded time to arrive; the rest are lost.
	const drainEnd = performance.now() + o.drainMs;
	while (
		performance.now() < drainEnd &&
		received.some((r, i) => r === 0 && windowOf(offsets[i] as number) < o.repeats)
	) {
		await sleep(100);
	}
	for (const c of chats) {
		c.a.onClose = null;
		c.b.onClose = null;
	}
	const out: Measured[] = [];
	log(`  ${server.kind}: warm-up errors ${JSON.stringify(warmErrors.kinds)}`);
	for (let w = 0; w < o.repeats; w++) {
		let sent = 0;
		let got = 0;
		let acks = 0;
		for (let i = 0; i < n; i++) {
			if (windowOf(offsets[i] as number) !== w) continue;
			sent++;
			got += received[i] as number;
			acks += acked[i] as number;
		}
		const e = errs[w] as Errors;
		e.add("lost (not received within the drain time)", sent - got);
		const cost = costs[w] as ReturnType<ReturnType<typeof startWindow>["stop"]>;
		const l = (hist[w] as Latency).summary();
		log(
			`  ${server.kind}: window ${w + 1}: p50 ${l.p50} p99 ${l.p99} max ${l.max} ms, ${got}/${sent} received, errors ${JSON.stringify(e.kinds)}, server CPU ${cost.serverCpuS} s (runtime ${cost.runtimeCpuS}, proxy ${cost.proxyCpuS}), loop p99 ${cost.loop.p99} ms`,
		);
		out.push({
			...cost,
			latency: (hist[w] as Latency).summary(),
			errors: e.total,
			errorKinds: e.kinds,
			extra: {
				sent,
				received: got,
				offeredPerSec: Math.round(sent / o.windowS),
				ackLatency: server.kind === "ours" ? (ackHist[w] as Latency).summary() : null,
				acks: server.kind === "ours" ? acks : null,
			},
		});
	}
	return out;
}
