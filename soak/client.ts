// One simulated user of the soak: a FlamingoClient (the same code the browser
// app runs) talking through its own FaultProxy, with in-memory storages
// standing in for localStorage and sessionStorage. It records what the
// checker needs, from the client's raw events (so a duplicate the server
// sends is seen even though the transcript would drop it) and from its
// transcript (whether each copy was shown or dropped by the client's dedupe),
// and it plays the user: looks for a stranger, sends messages, presses Next
// when a chat ends.
//
// An "older client" (`receipts: false`) is the same FlamingoClient behind a
// WebSocket that silently drops every `received` frame it is asked to send:
// the server sees a client that never confirms (PROTOCOL.md 1.1, Delivery
// receipts), and acks what is sent to it only once it stored it.
//
// A "one-socket client" (`singleSocket: true`) is FlamingoClient on
// `/ws/single`: one socket carries lobby and chats, so each chat it carries is
// recorded as a connection of its own (from its `chat_joined` to its
// `chat_ended` or the socket's close), with the `after` of the `init` that
// brought it back, when one did: what a chat socket and its URL are on /ws.
import type { FlamingoClient, KeyValueStorage, Preferences, Snapshot } from "../src/client/flamingo-client.ts";
import type { AckRecord, ChatPresence, ClientLog, DeliveryRecord, SendRecord } from "./checker.ts";
import type { FaultKind, SlowReading } from "./fault.ts";
import type { FaultProxy } from "./proxy.ts";

export type FlamingoClientClass = typeof FlamingoClient;

export class MemoryStorage implements KeyValueStorage {
	private readonly map = new Map<string, string>();
	getItem(key: string): string | null {
		return this.map.get(key) ?? null;
	}
	setItem(key: string, value: string): void {
		this.map.set(key, value);
	}
	removeItem(key: string): void {
		this.map.delete(key);
	}
}

/** A WebSocket the client opened, with when it opened and closed. */
interface SocketRecord {
	readonly ws: WebSocket;
	/** Unique per client. */
	readonly id: number;
	readonly chat: boolean;
	/** The `after=N` of a chat socket's URL (on /ws/single: of the `init` that brought the chat back). */
	after: number | null;
	closedAt: number | null;
}

interface ChatRecord {
	endedSeen: boolean;
	/** The reason of the chat_ended read for it, if one was. */
	endReason: string | null;
	presentAtEnd: boolean;
	joins: { at: number; socket: SocketRecord | null }[];
}

export interface SoakClientOptions {
	FlamingoClient: FlamingoClientClass;
	proxy: FaultProxy;
	prefs: Preferences;
	pingIntervalMs: number;
	/** Whether the client sends delivery receipts (default true); false: an older client, which never does. */
	receipts?: boolean;
	/** FlamingoClient's `singleSocket`: everything over `/ws/single` (default false). */
	singleSocket?: boolean;
	/** Called for every ack and raw delivery (by the sender's client_msg_id), for the drain's bookkeeping. */
	onAck?: (chatId: string, sender: string, clientMsgId: string) => void;
	onDelivery?: (chatId: string, recipient: string, clientMsgId: string | undefined) => void;
}

/**
 * A join counts as "settled" (every message held for the client must have
 * reached it) when its connection then stayed up this long, and also this
 * long after the last message it brought, before it closed or a fault cut it
 * (the client's close event can come long after the page stopped reading):
 * the held messages come first, in id order, and under load they can take
 * longer than this to arrive; a connection that ends while they still
 * trickle in proves nothing.
 */
export const SETTLE_MS = 5_000;
/** Faults that end what a connection can bring the client: it is torn down, closed, stalled, or the page goes. */
const CUTTING: ReadonlySet<FaultKind> = new Set(["terminate", "close", "blackhole", "reload", "away"]);
/** Events kept per client for the report. */
const TRACE_LENGTH = 800;

export class SoakClient {
	readonly name: string;
	readonly sends: SendRecord[] = [];
	readonly acks: AckRecord[] = [];
	readonly deliveries: DeliveryRecord[] = [];
	readonly faults: { kind: FaultKind; at: number; durationMs?: number }[] = [];
	readonly counters = {
		reloads: 0,
		sockets: 0,
		chatsJoined: 0,
		chatEnds: 0,
		errors: 0,
		/** `received` frames FlamingoClient wrote, sent on (or, for an older client, dropped). */
		receiptsSent: 0,
		receiptsDropped: 0,
	};
	/** Sends delivery receipts (false: an older client). */
	readonly receipts: boolean;
	/** Speaks over one socket, `/ws/single`. */
	readonly singleSocket: boolean;
	readonly endReasons = new Map<string, number>();
	readonly errorCodes = new Map<string, number>();
	/** ms from send() to the first ack, per acked message (faults included), with that ack (`viaReceipt`). */
	readonly ackLatencies: { ms: number; ack: AckRecord }[] = [];
	/** Acks read since the last frame of another kind on the chat socket: a `message_delivered` right behind them marks them acked through a receipt. */
	private ackRun: AckRecord[] = [];
	/** `${chat}\n${message_id}` of every partner message the transcript showed. */
	private readonly shownIds = new Set<string>();
	private readonly sentAt = new Map<string, number>();
	/** The last events of this client (sockets, frames, faults, phases), for a report. */
	readonly trace: string[] = [];
	private readonly chats = new Map<string, ChatRecord>();
	private readonly sockets: SocketRecord[] = [];
	private socketSeq = 0;
	/** The socket whose frame the client is handling right now. */
	private reading: SocketRecord | null = null;
	private readonly local = new MemoryStorage();
	private readonly session = new MemoryStorage();
	private readonly options: SoakClientOptions;
	private client: FlamingoClient;
	private seq = 0;
	/** The user acts (sends, presses Next, comes back) only while running. */
	private running = false;
	private frozen = false;
	private awayTimer: NodeJS.Timeout | null = null;
	private nextTimer: NodeJS.Timeout | null = null;

	constructor(name: string, options: SoakClientOptions) {
		this.name = name;
		this.options = options;
		this.receipts = options.receipts ?? true;
		this.singleSocket = options.singleSocket ?? false;
		this.client = this.makeClient();
	}

	get snapshot(): Snapshot {
		return this.client.snapshot;
	}

	get away(): boolean {
		return this.awayTimer !== null;
	}

	/** Messages of ours not acked yet. */
	get unacked(): number {
		return (this.client.snapshot.transcript?.messages ?? []).filter((m) => m.mine && m.state === "sending").length;
	}

	// ---- the user -----------------------------------------------------------------

	start(): void {
		this.running = true;
		this.client.start(this.options.prefs);
	}

	/** Sends one message if the client is in a chat; returns whether it took it. */
	send(): boolean {
		if (!this.running || this.away) return false;
		const chatId = this.client.snapshot.transcript?.chatId;
		if (!chatId) return false;
		const content = `${this.name}#${++this.seq}`;
		const key = this.client.send(content);
		if (key === null) return false;
		this.sends.push({ chatId, content, clientMsgId: key, at: Date.now() });
		this.sentAt.set(key, Date.now());
		return true;
	}

	/**
	 * Keeps the user moving, called about once a second: back to the queue
	 * after a chat ends, or after a reload that found no chat.
	 */
	tick(): void {
		if (!this.running || this.away || this.frozen) return;
		const { phase, connected } = this.client.snapshot;
		// Idle and connected: the lobby said `ready` without a chat (after a reload).
		if (phase === "idle" && connected) this.client.start(this.options.prefs);
		else if (phase === "ended" && this.nextTimer === null) {
			// Next stranger: start() with this soak client's own preferences, which also works for the older FlamingoClient builds the soak runs (they kept none across a reload).
			this.nextTimer = setTimeout(
				() => {
					this.nextTimer = null;
					if (this.running && !this.away && this.client.snapshot.phase === "ended") {
						this.client.start(this.options.prefs);
					}
				},
				200 + Math.random() * 800,
			);
		}
	}

	/** Applies a fault; returns whether it did anything (not while away, not Next outside a chat). */
	fault(kind: FaultKind, at: number, durationMs?: number, slow?: SlowReading): boolean {
		if (!this.running || this.frozen) return false;
		if (this.away && kind !== "blackhole" && kind !== "slow") return false;
		if (kind === "next" && this.client.snapshot.phase !== "chatting") return false;
		this.faults.push({ kind, at, ...(durationMs === undefined ? {} : { durationMs }) });
		this.note(`fault ${kind}${durationMs === undefined ? "" : ` ${durationMs} ms`}`);
		switch (kind) {
			case "terminate":
				this.options.proxy.terminate();
				break;
			case "close": {
				const open = this.sockets.findLast((s) => s.ws.readyState === WebSocket.OPEN);
				open?.ws.close(1000);
				break;
			}
			case "reload":
				this.reload();
				break;
			case "blackhole":
				this.options.proxy.blackhole(durationMs ?? 10_000);
				break;
			case "away":
				this.client.close();
				this.awayTimer = setTimeout(() => this.comeBack(), durationMs ?? 40_000);
				break;
			case "next":
				this.client.next();
				break;
			case "slow":
				this.options.proxy.slowFor(durationMs ?? 10_000, slow ?? { latencyMs: 1_000, bytesPerSec: 2_000 });
				break;
		}
		return true;
	}

	/** The faults are over (the drain): a blackhole ends now, an absent user comes back. */
	endFaults(): void {
		this.options.proxy.release();
		this.options.proxy.endSpell();
		if (this.away) this.comeBack();
	}

	/**
	 * Whether the client is where it should be after the drain: in a chat,
	 * connected, with every message acked; or connected and waiting.
	 */
	get settled(): boolean {
		const s = this.client.snapshot;
		if (this.away) return false;
		if (s.phase === "chatting") return s.connected && this.unacked === 0;
		if (s.phase === "waiting") return s.connected;
		return false;
	}

	/** Records who is in which chat right now, then stops recording and closes the client. */
	freeze(now: number): void {
		if (this.frozen) return;
		const s = this.client.snapshot;
		if (s.phase === "chatting" && s.connected && s.transcript) this.chat(s.transcript.chatId).presentAtEnd = true;
		this.frozen = true;
		this.running = false;
		this.freezeAt = now;
		if (this.awayTimer !== null) clearTimeout(this.awayTimer);
		if (this.nextTimer !== null) clearTimeout(this.nextTimer);
		this.awayTimer = null;
		this.nextTimer = null;
		this.client.close();
	}

	private freezeAt = 0;

	/** What the checker reads. */
	log(): ClientLog {
		// Faults after which a connection brings nothing more (or nothing the client reads):
		// its useful life ends there, even if its close event comes much later.
		const cuts = this.faults.filter((f) => CUTTING.has(f.kind)).map((f) => f.at);
		const lastIn = new Map<number, number>(); // connection → when its last message came
		for (const d of this.deliveries) if (d.at !== undefined) lastIn.set(d.conn, d.at);
		const chats: ChatPresence[] = [];
		for (const [chatId, c] of this.chats) {
			const settledJoins = c.joins
				.filter((j) => {
					const closed = j.socket?.closedAt ?? this.freezeAt;
					const cut = cuts.find((at) => at >= j.at);
					const until = Math.min(closed, cut ?? Number.POSITIVE_INFINITY);
					const quietSince = Math.max(j.at, (j.socket && lastIn.get(j.socket.id)) ?? j.at);
					return j.socket !== null && until - j.at >= SETTLE_MS && until - quietSince >= SETTLE_MS;
				})
				.map((j) => j.at);
			chats.push({
				chatId,
				presentAtEnd: c.endedSeen || c.presentAtEnd,
				settledJoins,
				...(c.endReason ? { endReason: c.endReason } : {}),
			});
		}
		return { name: this.name, sends: this.sends, acks: this.acks, deliveries: this.deliveries, chats };
	}

	// ---- plumbing -----------------------------------------------------------------

	private note(event: string): void {
		if (this.frozen) return;
		this.trace.push(`${new Date().toISOString().slice(11, 23)} ${event}`);
		if (this.trace.length > TRACE_LENGTH) this.trace.splice(0, this.trace.length - TRACE_LENGTH);
	}

	private reload(): void {
		const phase = this.client.snapshot.phase;
		this.note("reload");
		this.client.close();
		this.counters.reloads++;
		this.client = this.makeClient();
		// A reloaded page shows the start screen; a live chat comes back through ready.chat.
		if (phase === "chatting" || phase === "joining") this.client.connect();
		else this.client.start(this.options.prefs);
	}

	private comeBack(): void {
		if (this.awayTimer !== null) clearTimeout(this.awayTimer);
		this.awayTimer = null;
		if (this.frozen) return;
		this.counters.reloads++;
		this.note("back");
		this.client = this.makeClient();
		this.client.connect();
	}

	/** Keeps the last few connections (for faults, and for `chat_joined` to find its own). */
	private remember(record: SocketRecord): void {
		this.sockets.push(record);
		if (this.sockets.length > 8) this.sockets.splice(0, this.sockets.length - 8);
	}

	private chat(chatId: string): ChatRecord {
		let c = this.chats.get(chatId);
		if (!c) {
			c = { endedSeen: false, endReason: null, presentAtEnd: false, joins: [] };
			this.chats.set(chatId, c);
		}
		return c;
	}

	private makeClient(): FlamingoClient {
		const self = this;
		const proxyPort = this.options.proxy.port;
		// Node's WebSocket, recorded (so a fault can close the open one) and
		// always through this client's proxy.
		const Recording = class extends WebSocket {
			constructor(url: string | URL, protocols?: string | string[]) {
				const u = new URL(url);
				u.host = `127.0.0.1:${proxyPort}`;
				super(u, protocols);
				const afterParam = u.searchParams.get("after");
				const record: SocketRecord = {
					ws: this,
					id: ++self.socketSeq,
					chat: u.pathname.startsWith("/ws/chat/"),
					after: afterParam === null || afterParam === "" ? null : Number(afterParam),
					closedAt: null,
				};
				self.remember(record);
				self.counters.sockets++;
				const single = u.pathname === "/ws/single";
				const kind = record.chat ? "chat" : single ? "single" : "lobby";
				const after = u.searchParams.get("after");
				self.note(
					`${kind} socket opening${record.chat ? ` [${u.pathname.slice(9, 15)}]` : ""}${after ? ` after=${after}` : ""}`,
				);
				const one = this.one;
				this.addEventListener("open", () => self.note(`${kind} socket open`));
				this.addEventListener("close", (e) => {
					record.closedAt = Date.now();
					if (one.carried) one.carried.closedAt = record.closedAt;
					one.carried = null;
					self.note(`${kind} socket closed ${e.code} ${JSON.stringify(e.reason)}`);
				});
				this.addEventListener("message", (e) => {
					const text = String(e.data);
					const type = /"type":"([a-z_]+)"/.exec(text)?.[1] ?? "?";
					if (single) {
						// A chat comes back through the init's ready.chat (with its after), or is new after match_found.
						if (type === "match_found" || (type === "ready" && !text.includes('"chat":{'))) one.initAfter = null;
						if (type === "chat_joined") {
							const carried = { ws: this, id: ++self.socketSeq, chat: true, after: one.initAfter, closedAt: null };
							one.carried = carried;
							one.initAfter = null;
							self.remember(carried);
							self.note(`single carries chat${carried.after === null ? "" : ` after=${carried.after}`}`);
						}
					}
					// Registered before partysocket's listener: the client's handlers run next, for this socket.
					self.reading = one.carried ?? record;
					if (single && type === "chat_ended" && one.carried) {
						one.carried.closedAt = Date.now();
						one.carried = null;
					}
					// The server sends `message_sent` for what a receipt confirmed, then at once
					// `message_delivered`: acks right in front of one were acked through the receipt.
					if (type === "message_delivered") {
						const upTo = Number(/"up_to":(\d+)/.exec(text)?.[1] ?? 0);
						for (const a of self.ackRun) if (a.messageId <= upTo) a.viaReceipt = true;
					}
					if (self.reading.chat && type !== "message_sent") self.ackRun = [];
					if (type === "pong") return;
					const detail =
						type === "message_received" || type === "message_sent"
							? (/"message_id":(\d+)/.exec(text)?.[1] ?? "")
							: type === "chat_ended" || type === "error"
								? text.slice(0, 160)
								: type === "partner_status"
									? text.slice(-20)
									: "";
					const chat = /"chat_id":"([0-9a-f]{6})/.exec(text)?.[1] ?? "";
					self.note(`${kind} < ${type} ${detail}${chat ? ` [${chat}]` : ""}`);
				});
			}

			/**
			 * On /ws/single: the chat this socket carries now (a connection of its
			 * own, from chat_joined to chat_ended or the close), and the `after` of
			 * the last init it sent, which that chat's connection asked with.
			 */
			readonly one: { carried: SocketRecord | null; initAfter: number | null } = { carried: null, initAfter: null };

			override send(data: Parameters<WebSocket["send"]>[0]): void {
				if (typeof data === "string" && data.startsWith('{"type":"init"')) {
					const after = /"after":(\d+)/.exec(data)?.[1];
					this.one.initAfter = after === undefined ? null : Number(after);
				}
				if (typeof data === "string" && data.startsWith('{"type":"received"')) {
					if (!self.receipts) {
						// An older client: it never confirms. Dropped before the wire, silently.
						self.counters.receiptsDropped++;
						return;
					}
					self.counters.receiptsSent++;
				}
				super.send(data);
			}
		};
		const client = new this.options.FlamingoClient({
			baseUrl: `http://127.0.0.1:${proxyPort}`,
			storage: this.local,
			sessionStorage: this.session,
			WebSocket: Recording,
			pingIntervalMs: this.options.pingIntervalMs,
			minReconnectDelayMs: 500,
			maxReconnectDelayMs: 10_000,
			singleSocket: this.singleSocket,
		});
		client.on("message_received", (p) => {
			if (this.frozen || client !== this.client) return;
			const conn = this.reading;
			// The handlers run after the client took the frame: a copy it showed is now the
			// transcript's last message; one it dropped (already shown, by id or by
			// client_msg_id) left the transcript as it was.
			const last = client.snapshot.transcript?.messages.at(-1);
			const key = `${p.chat_id}\n${p.message_id}`;
			const shown =
				client.snapshot.transcript?.chatId === p.chat_id &&
				last !== undefined &&
				!last.mine &&
				last.messageId === p.message_id &&
				!this.shownIds.has(key);
			if (shown) this.shownIds.add(key);
			this.deliveries.push({
				chatId: p.chat_id,
				messageId: p.message_id,
				content: p.content,
				conn: conn?.id ?? 0,
				after: conn?.after ?? null,
				at: Date.now(),
				shown,
				...(p.client_msg_id === undefined ? {} : { clientMsgId: p.client_msg_id }),
			});
			if (!shown) this.note(`dropped copy ${p.message_id} ${p.client_msg_id ?? ""}`);
			this.options.onDelivery?.(p.chat_id, this.name, p.client_msg_id);
		});
		client.on("message_sent", (p) => {
			if (this.frozen || client !== this.client || p.client_msg_id === undefined) return;
			const now = Date.now();
			const ack: AckRecord = { chatId: p.chat_id, messageId: p.message_id, clientMsgId: p.client_msg_id, at: now };
			this.acks.push(ack);
			this.ackRun.push(ack);
			const sentAt = this.sentAt.get(p.client_msg_id);
			if (sentAt !== undefined) {
				this.sentAt.delete(p.client_msg_id);
				// `ack.viaReceipt` is set when a message_delivered comes right behind it.
				this.ackLatencies.push({ ms: now - sentAt, ack });
			}
			this.options.onAck?.(p.chat_id, this.name, p.client_msg_id);
		});
		client.on("match_found", (p) => {
			if (!this.frozen) this.chat(p.chat_id);
		});
		client.on("ready", (p) => {
			if (!this.frozen && p.chat) this.chat(p.chat.chat_id);
		});
		client.on("chat_joined", (p) => {
			if (this.frozen || client !== this.client) return;
			this.counters.chatsJoined++;
			const socket = this.sockets.findLast((s) => s.chat) ?? null;
			this.chat(p.chat_id).joins.push({ at: Date.now(), socket });
		});
		client.on("chat_ended", (p) => {
			if (this.frozen || client !== this.client) return;
			this.counters.chatEnds++;
			const c = this.chat(p.chat_id);
			c.endedSeen = true;
			c.endReason = p.reason;
			this.endReasons.set(p.reason, (this.endReasons.get(p.reason) ?? 0) + 1);
		});
		client.on("error", (p) => {
			this.counters.errors++;
			this.errorCodes.set(p.code, (this.errorCodes.get(p.code) ?? 0) + 1);
			this.note(`error ${p.code} ${p.request_type ?? ""}`);
		});
		// Ends only the client can tell (the chat was over when it came back, another tab).
		let lastPhase = client.snapshot.phase;
		client.subscribe((s) => {
			if (s.phase !== lastPhase && client === this.client)
				this.note(`phase ${lastPhase} -> ${s.phase} ${s.endReason ?? ""}`);
			if (s.phase === "ended" && lastPhase !== "ended" && client === this.client && !this.frozen) {
				if (s.endReason === "ended_while_away" || s.endReason === "replaced") {
					this.endReasons.set(s.endReason, (this.endReasons.get(s.endReason) ?? 0) + 1);
				}
			}
			lastPhase = s.phase;
		});
		return client;
	}
}
