// Scenario 1, relay: N chats, each sending r messages/s on an open-loop Poisson
// schedule (the superposition of N Poisson processes of rate r is one of rate
// N·r with each arrival given to a uniformly chosen chat and side). Latency is
// sender's intended send time → partner's `message_received`, both sockets in
// this process, one clock. One warm-up, then `repeats` back-to-back windows.
//
// Ours' clients confirm what they receive as the bundled client does
// (PROTOCOL.md 1.1, delivery receipts): one `received {up_to}` per chat
// socket, `receiptDelayMs` after a `message_received` (later ones share it).
// For ours each window also records the ack latency (intended send →
// `message_sent`) and the receipt latency (intended send → the
// `message_delivered` that covers the message); after the chats ended, the
// storage rows their objects wrote, from their `chat_ended` lines. With
// `receipts: false` the clients are older ones that never confirm: the
// server stores every message (after 1 s the first time) and acks it then.
// The baselines have no such protocol and get no receipts.

import { Latency, type Summary } from "../lib/histogram.ts";
import { poissonTimes, rng, runSchedule, sleep } from "../lib/poisson.ts";
import { ReceiptSender } from "../lib/receipts.ts";
import { type ChatRows, ServerEvents } from "../lib/server-log.ts";
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
	/** Ours' clients send delivery receipts (the bundled client's behaviour); false: older clients that never do. */
	receipts: boolean;
	/** How long a receipt waits for more messages to share it (the bundled client: 50 ms; the protocol: within 100). */
	receiptDelayMs: number;
	/** How long to wait, after the chats were left, for their `chat_ended` lines. */
	endWaitMs: number;
	/** A name for the logs ("light", "older clients" …). */
	label?: string;
}

export interface RelayResult {
	windows: Measured[];
	/** Ours only: the rows the chats' objects wrote, from their `chat_ended` lines. */
	rows: ChatRows | null;
	/** Ours only: the chats' ids, and when the last of them logged `chat_ended` (performance.now(); 0 if none did). */
	chatIds: string[];
	lastEndedAt: number;
}

/** Padding so a message is about 80 characters, a short chat line. */
const FILLER = "the quick brown fox jumps over the lazy dog, again and again and";

export async function relayScenario(server: BenchServer, o: RelayOptions, log: Log): Promise<RelayResult> {
	const events = server.kind === "ours" ? new ServerEvents(server) : null;
	try {
		const chats = await openChats(server, o.pairs, `relay${o.seed}x${o.pairs}x`, log);
		const receipts =
			server.kind === "ours" && o.receipts
				? chats.map((c) => ({
						a: new ReceiptSender(c.a, o.receiptDelayMs),
						b: new ReceiptSender(c.b, o.receiptDelayMs),
					}))
				: null;
		let windows: Measured[];
		try {
			windows = await measure(server, chats, receipts, o, log);
		} finally {
			// As the bundled client: what is owed is confirmed before `leave_chat`.
			for (const r of receipts ?? []) {
				r.a.flush();
				r.b.flush();
			}
			await closeChats(server, chats);
			for (const r of receipts ?? []) {
				r.a.stop();
				r.b.stop();
			}
		}
		if (!events) return { windows, rows: null, chatIds: [], lastEndedAt: 0 };
		const ids = chats.map((c) => c.chatId);
		const missing = await events.waitChatsEnded(ids, o.endWaitMs);
		const rows = events.chatRows(ids);
		log(
			`  ${server.kind}${o.label ? ` (${o.label})` : ""}: ${rows.chats} chat_ended lines${missing > 0 ? `, ${missing} MISSING after ${o.endWaitMs / 1000} s` : ""}: ${rows.messages} messages, ${rows.messagesStored} stored, message rows ${rows.messageRowsWritten} (${rows.messageRowsPer1000} per 1,000), all rows ${rows.rowsWritten} (${rows.rowsPer1000} per 1,000; ${rows.rowsPerChat} per chat)`,
		);
		return { windows, rows, chatIds: ids, lastEndedAt: events.lastEnded(ids) };
	} finally {
		events?.stop();
	}
}

/** Per chat and direction (0: a → b, 1: b → a), the ids and sequence numbers the receiver got, not yet confirmed to the sender. */
class Unconfirmed {
	private readonly ids: number[] = [];
	private readonly seqs: number[] = [];
	private head = 0;

	push(id: number, seq: number): void {
		this.ids.push(id);
		this.seqs.push(seq);
	}

	/** Calls `each(seq)` for every message with id ≤ upTo, oldest first, and forgets them. */
	confirm(upTo: number, each: (seq: number) => void): void {
		while (this.head < this.ids.length && (this.ids[this.head] as number) <= upTo) {
			each(this.seqs[this.head] as number);
			this.head++;
		}
		if (this.head > 1024 && this.head * 2 > this.ids.length) {
			this.ids.splice(0, this.head);
			this.seqs.splice(0, this.head);
			this.head = 0;
		}
	}
}

async function measure(
	server: BenchServer,
	chats: ChatPair[],
	receipts: { a: ReceiptSender; b: ReceiptSender }[] | null,
	o: RelayOptions,
	log: Log,
): Promise<Measured[]> {
	const ours = server.kind === "ours";
	const name = `${server.kind}${o.label ? ` (${o.label})` : ""}`;
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
	const delivered = new Uint8Array(n);
	const windowOf = (offset: number) => Math.floor((offset - o.warmupS * 1000) / (o.windowS * 1000));
	const hist = Array.from({ length: o.repeats }, () => new Latency());
	const ackHist = Array.from({ length: o.repeats }, () => new Latency());
	const deliveredHist = Array.from({ length: o.repeats }, () => new Latency());
	const receiptsIn = new Array<number>(o.repeats).fill(0);
	const errs = Array.from({ length: o.repeats }, () => new Errors());
	const warmErrors = new Errors();
	let start = 0;
	const windowNow = (at: number) => windowOf(at - start);
	const errorsAt = (at: number) => {
		const w = windowNow(at);
		return w >= 0 && w < o.repeats ? (errs[w] as Errors) : warmErrors;
	};
	const record = (hists: Latency[], seq: number, at: number) => {
		const w = windowOf((intended[seq] as number) - start);
		if (w >= 0 && w < o.repeats) (hists[w] as Latency).recordMs(at - (intended[seq] as number));
	};
	// [chat][direction]: what the receiver got and the sender has not heard confirmed.
	const unconfirmed = receipts ? chats.map(() => [new Unconfirmed(), new Unconfirmed()] as const) : null;

	const frameHandler = (k: number, side: 0 | 1) => {
		const receipt = receipts ? (side === 0 ? receipts[k]?.a : receipts[k]?.b) : undefined;
		return (
			frame: {
				type: string;
				payload: { content?: string; client_msg_id?: string; message_id?: number; up_to?: number };
			},
			at: number,
		) => {
			if (frame.type === "message_received") {
				const content = frame.payload.content ?? "";
				const seq = Number(content.slice(0, content.indexOf(" ")));
				if (!(seq >= 0 && seq < n) || received[seq]) return errorsAt(at).add("unexpected message");
				received[seq] = 1;
				record(hist, seq, at);
				if (receipt) {
					const id = Number(frame.payload.message_id);
					// Sent by the other side: direction (1 - side).
					unconfirmed?.[k]?.[(1 - side) as 0 | 1].push(id, seq);
					receipt.got(id);
				}
			} else if (frame.type === "message_sent") {
				const seq = Number(frame.payload.client_msg_id);
				if (!(seq >= 0 && seq < n) || acked[seq]) return;
				acked[seq] = 1;
				record(ackHist, seq, at);
			} else if (frame.type === "message_delivered") {
				// Covers this side's messages up to up_to: direction `side`.
				unconfirmed?.[k]?.[side].confirm(Number(frame.payload.up_to), (seq) => {
					if (delivered[seq]) return;
					delivered[seq] = 1;
					record(deliveredHist, seq, at);
				});
			} else if (frame.type === "error") {
				errorsAt(at).add(`error ${String((frame.payload as { code?: string }).code)}`);
			} else if (frame.type !== "partner_status" && frame.type !== "partner_typing") {
				errorsAt(at).add(`unexpected ${frame.type}`);
			}
		};
	};
	for (const [k, c] of chats.entries()) {
		c.a.onFrame = frameHandler(k, 0);
		c.b.onFrame = frameHandler(k, 1);
		for (const s of [c.a, c.b]) {
			s.onClose = (code) => {
				errorsAt(performance.now()).add(`closed ${code}`);
			};
		}
	}
	// Receipts sent per window (each is an incoming WebSocket message the server is billed for).
	if (receipts) {
		const count = () => {
			const w = windowNow(performance.now());
			if (w >= 0 && w < o.repeats) receiptsIn[w] = (receiptsIn[w] as number) + 1;
		};
		for (const r of receipts) {
			r.a.onSend = count;
			r.b.onSend = count;
		}
	}

	// Window boundaries: CPU and loop delay per window.
	const costs: ReturnType<ReturnType<typeof startWindow>["stop"]>[] = [];
	start = performance.now() + 50;
	log(
		`  ${name}: relay ${o.pairs} chats × ${o.ratePerPair}/s, warm-up ${o.warmupS} s, ${o.repeats} × ${o.windowS} s${ours ? (receipts ? `, receipts after ${o.receiptDelayMs} ms` : ", no receipts") : ""}`,
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
	// Drain: give late messages (and, for ours, their acks and receipts) a bounded time; the rest are lost.
	const done = (i: number) =>
		received[i] === 1 && (!ours || (acked[i] === 1 && (receipts === null || delivered[i] === 1)));
	const drainEnd = performance.now() + o.drainMs;
	while (performance.now() < drainEnd && offsets.some((t, i) => windowOf(t) < o.repeats && !done(i))) {
		await sleep(100);
	}
	for (const c of chats) {
		c.a.onClose = null;
		c.b.onClose = null;
	}
	const out: Measured[] = [];
	log(`  ${name}: warm-up errors ${JSON.stringify(warmErrors.kinds)}`);
	for (let w = 0; w < o.repeats; w++) {
		let sent = 0;
		let got = 0;
		let acks = 0;
		let confirmed = 0;
		for (let i = 0; i < n; i++) {
			if (windowOf(offsets[i] as number) !== w) continue;
			sent++;
			got += received[i] as number;
			acks += acked[i] as number;
			confirmed += delivered[i] as number;
		}
		const e = errs[w] as Errors;
		e.add("lost (not received within the drain time)", sent - got);
		if (ours) e.add("not acked (message_sent) within the drain time", sent - acks);
		if (ours && receipts) e.add("not confirmed (message_delivered) within the drain time", sent - confirmed);
		const cost = costs[w] as ReturnType<ReturnType<typeof startWindow>["stop"]>;
		const l = (hist[w] as Latency).summary();
		const ack: Summary | null = ours ? (ackHist[w] as Latency).summary() : null;
		const del: Summary | null = ours && receipts ? (deliveredHist[w] as Latency).summary() : null;
		log(
			`  ${name}: window ${w + 1}: p50 ${l.p50} p99 ${l.p99} max ${l.max} ms, ${got}/${sent} received` +
				(ack ? `, ack p50 ${ack.p50} p99 ${ack.p99}` : "") +
				(del ? `, delivered p50 ${del.p50} p99 ${del.p99} (${receiptsIn[w]} receipts)` : "") +
				`, errors ${JSON.stringify(e.kinds)}, server CPU ${cost.serverCpuS} s (runtime ${cost.runtimeCpuS}, proxy ${cost.proxyCpuS}), loop p99 ${cost.loop.p99} ms`,
		);
		out.push({
			...cost,
			latency: l,
			errors: e.total,
			errorKinds: e.kinds,
			extra: {
				sent,
				received: got,
				offeredPerSec: Math.round(sent / o.windowS),
				ackLatency: ack,
				acks: ours ? acks : null,
				deliveredLatency: del,
				delivered: ours && receipts ? confirmed : null,
				/** `received` frames the clients sent in the window (ours with receipts). */
				receipts: ours && receipts ? receiptsIn[w] : null,
			},
		});
	}
	return out;
}
