// One ChatRoom Durable Object per chat. Created by its first user's connection
// (so it lives near that user), it checks tickets, relays, acks, holds messages
// for a partner who dropped, and ends the chat: it tells the Matchmaker, says
// `chat_ended` to both, and deletes everything it stored.
//
// Delivery (PROTOCOL.md 1.1, ARCHITECTURE.md "Storage rows are the bill"): a
// message goes to the partner's socket at once and waits in memory for the
// partner's `received`; that receipt is what lets the sender be acked
// (`message_sent`, then `message_delivered`), so a chat between two clients
// that confirm stores no message at all. A message not confirmed within
// RECEIPT_TIMEOUT_MS, or sent while the partner is offline, is stored and
// then acked, as before. Nothing is acked that a restart could lose.
//
// Hibernation: each socket is tagged with its user id, so `getWebSockets(user)`
// finds a user's socket after the object woke; the chat itself is in SQLite,
// and what costs no write (the next message id, receipts seen, rows counted)
// rides in the sockets' attachments, rewritten at the end of any event that
// changed it once nothing waits for a receipt. While something does, its
// receipt deadline is a pending timer, which keeps the object awake.
import { DurableObject } from "cloudflare:workers";
import { LIMITS, type Timings, timingsFrom } from "../../config";
import { type Signer, signerFrom, type TicketClaims } from "../../domain/auth/signing";
import {
	type ChatState,
	causeReason,
	dueEnd,
	type EndCause,
	endReasons,
	type Member,
	memberOf,
	newMember,
	nextDeadline,
	partnerOf,
	sides,
} from "../../domain/chat/lifecycle";
import { MessageIds } from "../../domain/chat/message-ids";
import { type AcceptedMessage, Unconfirmed } from "../../domain/chat/unconfirmed";
import { LimitsBySocket } from "../../domain/limits/socket-limits";
import { contactIn, gateHolds } from "../../domain/safety/link-gate";
import type { Env } from "../../env";
import { errorText, log } from "../../log";
import { CLOSE_BAD_TICKET, CLOSE_CHAT_ENDED, CLOSE_REPLACED, CLOSE_TOO_BIG } from "../../protocol/close-codes";
import { parseChat, tooBigToRead } from "../../protocol/codec";
import { type ChatClientEvent, codePoints, RECEIPT_TIMEOUT_MS, reportReason } from "../../protocol/schemas";
import { AlarmScheduler } from "../../transport/alarms";
import { Frames } from "../../transport/frames";
import { SocketHub } from "../../transport/socket-hub";
import {
	acceptSocket,
	closeSocket,
	echoClose,
	notAnUpgrade,
	refuseSocket,
	send,
	sendError,
} from "../../transport/sockets";
import { type ChatEnd, matchmakerStub } from "../contract";
import { RowMeter } from "../row-meter";
import { type AcceptedAs, ChatStore, type Tombstone } from "./store";

/** What costs no write and must survive hibernation: flushed into every socket's attachment. */
interface Volatile {
	/** The next message id. */
	next: number;
	rows: number;
	messageRows: number;
	stored: number;
	members: Record<string, Pick<Member, "sent" | "lastSent" | "confirmed" | "receipts">>;
	/** Each sender's last few acked client_msg_ids: [client_msg_id, message_id, sent_at]. */
	acks: Record<string, [string, number, number][]>;
}

/**
 * What a chat socket carries through hibernation. Written only by this
 * class: created by `admit`, its `v` rewritten by `flushVolatile`, its `seen`
 * by the frame prelude (`touchSeen`, at most every few seconds).
 */
interface ChatAttachment {
	user: string;
	seen: number;
	v?: Volatile;
}

/** How long a failed notice to the Matchmaker waits before it is tried again. */
const NOTIFY_RETRY_MS = 5_000;
/** Acked messages whose client_msg_id a resend is recognised by after they left storage (or never reached it). */
const RECENT_CLIENT_IDS = 512;
/**
 * How many of them per sender survive hibernation (an attachment holds
 * 16 KiB at most; 32 ids of 64 characters for two senders take about 6):
 * an outbox resent after a reconnect is its last few messages.
 */
const KEPT_CLIENT_IDS = 32;

type Sync = void | Promise<void>;

export class ChatRoom extends DurableObject<Env> {
	private readonly meter = new RowMeter(this.ctx.storage.sql);
	private readonly limits = new LimitsBySocket(LIMITS.message);
	// The socket plumbing both objects share (src/transport): the chat sockets
	// (restore after a wake, attachments, the sweep), their frames (error
	// containment, the prelude), the one alarm (set only when it moves earlier).
	private readonly hub = new SocketHub<ChatAttachment>(this.ctx, "chat");
	private readonly frames: Frames<ChatClientEvent, ChatAttachment>;
	private readonly alarms = new AlarmScheduler(this.ctx, this.meter);
	private readonly store: ChatStore;
	private readonly timings: Timings;
	private readonly signer: Signer | null;
	/** undefined: not read yet; null: no live chat here. */
	private chat: ChatState | null | undefined;
	private ids = MessageIds.fresh();
	/** Receipts for ids up to this are accepted without knowing the sender (ids handed out before a restart). */
	private idsBeforeRestart = 0;
	/** The Matchmaker heard that the chat started (`chatJoined`). */
	private matchmakerTold = false;
	/** A `chatJoined` notice failed (or a restart cannot tell): the alarm retries it. */
	private matchmakerRetry = false;
	private readonly unconfirmed = new Unconfirmed();
	/** sender + client_msg_id → how it was acked, for resends; newest last, bounded. */
	private readonly recentAcks = new Map<string, AcceptedAs>();
	/** Per sender, the newest KEPT_CLIENT_IDS of them, as the attachments keep them (no walk over all at a flush). */
	private readonly keptAcks = new Map<string, [string, number, number][]>();
	/** Rows written for messages (stored, dropped, id reservations), and messages stored, for the logs. */
	private messageRows = 0;
	private storedTotal = 0;
	/** user → newest open socket; a cache of `getWebSockets(user)`. */
	private readonly sockets = new Map<string, WebSocket>();
	private ending = false;
	/** The volatile state changed since it was last flushed into the attachments. */
	private dirty = false;
	/** The receipt deadline of the oldest unconfirmed message, while there is one. */
	private tick: { at: number; timer: ReturnType<typeof setTimeout> } | null = null;

	constructor(ctx: DurableObjectState, env: Env) {
		super(ctx, env);
		this.frames = new Frames(this.hub, { limits: this.limits, costly: "send_message", where: "chat room" });
		this.store = new ChatStore(ctx.storage, this.meter);
		this.timings = timingsFrom(env);
		this.signer = signerFrom(env.SECRET);
	}

	private state(): ChatState | null {
		if (this.chat === undefined) this.chat = this.resume();
		return this.chat;
	}

	/** The chat as stored, plus what the attachments kept through hibernation. */
	private resume(): ChatState | null {
		const loaded = this.store.load();
		if (!loaded) return null;
		const { state } = loaded;
		this.matchmakerTold = loaded.matchmakerTold;
		this.matchmakerRetry = !loaded.matchmakerTold;
		const kept =
			this.hub
				.kept()
				.map(({ att }) => att.v)
				.reduce<Volatile | undefined>((best, v) => (v && (!best || v.next > best.next) ? v : best), undefined) ??
			(loaded.kept === null ? undefined : (JSON.parse(loaded.kept) as Volatile));
		if (kept) {
			// Hibernated (or evicted with nobody online), not restarted: nothing was lost, ids go on where they were.
			this.ids = new MessageIds(Math.max(kept.next, loaded.lastStored + 1), loaded.reservedBelow);
			this.meter.add(kept.rows);
			this.messageRows = kept.messageRows;
			this.storedTotal = kept.stored;
			for (const [sender, acks] of Object.entries(kept.acks ?? {})) {
				for (const [clientMsgId, id, sentAt] of acks) this.rememberAck(sender, clientMsgId, { id, sentAt });
			}
			for (const user of state.users) {
				const member = memberOf(state, user);
				const k = kept.members[user];
				if (k) {
					Object.assign(member, k, {
						sent: Math.max(k.sent, member.sent),
						lastSent: Math.max(k.lastSent, member.lastSent),
					});
				}
			}
		} else {
			// Restarted: ids handed out since the last reservation are unknown, so go on above it.
			const next = Math.max(loaded.reservedBelow, loaded.lastStored + 1);
			this.ids = new MessageIds(next, loaded.reservedBelow);
			this.idsBeforeRestart = next - 1;
		}
		const reserve = this.ids.ahead();
		if (reserve !== null) this.countMessageRows(() => this.store.reserveIds(reserve));
		return state;
	}

	// ---- joining -------------------------------------------------------------

	override async fetch(request: Request): Promise<Response> {
		const refused = notAnUpgrade(request);
		if (refused) return refused;
		const url = new URL(request.url);
		const chatId = url.pathname.split("/").at(-1) ?? "";
		const afterParam = url.searchParams.get("after");
		const after =
			afterParam === null || afterParam === "" ? null : /^\d{1,15}$/.test(afterParam) ? Number(afterParam) : -1;
		if (after !== null && after < 0) {
			return new Response("after must be a non-negative integer", { status: 400 });
		}
		const ticket = url.searchParams.get("ticket") ?? "";
		const now = Date.now();
		const claims = this.signer && ticket ? await this.signer.verifyTicket(ticket, chatId, now) : null;
		if (!claims) return refuseTicket("invalid", "missing, invalid or expired ticket");

		const state = this.state() ?? this.open(claims, now);
		if (!state || this.ending) return refuseTicket("chat_over", "this chat is over");
		if (!state.users.includes(claims.u) || !state.users.includes(claims.p)) {
			return refuseTicket("foreign", "ticket is not for this chat");
		}
		return this.admit(state, claims.u, after, now);
	}

	/** Creates the chat on its first connection, unless it is over or too late to start. */
	private open(claims: TicketClaims, now: number): ChatState | null {
		if (this.store.tombstone() || now >= claims.m + this.timings.abandonMs) return null;
		const state: ChatState = {
			chatId: claims.c,
			users: [claims.u, claims.p],
			matchedAt: claims.m,
			lobby: claims.l,
			members: { a: newMember(), b: newMember() },
		};
		this.ids = MessageIds.fresh();
		this.store.create(state, this.ids.reserved);
		this.chat = state;
		void this.tellMatchmakerJoined(state);
		return state;
	}

	/**
	 * The Matchmaker drops chats nobody joined shortly after the abandon
	 * deadline; it must hear that this one started. Retried by the alarm until it has.
	 */
	private async tellMatchmakerJoined(state: ChatState): Promise<void> {
		try {
			await this.matchmaker(state).chatJoined(state.chatId);
			// Not if the chat ended meanwhile: its storage is wiped and stays so.
			if (this.chat === state) {
				this.store.markMatchmakerTold();
				this.matchmakerTold = true;
			}
		} catch (err) {
			log({ event: "internal_error", where: "chat room: chatJoined (will retry)", error: errorText(err) });
			this.matchmakerRetry = true;
			this.reschedule(Date.now());
		}
	}

	private admit(state: ChatState, user: string, after: number | null, now: number): Response {
		const { ws: server, response } = acceptSocket(this.ctx, [user], {
			user,
			seen: now,
			v: this.volatile(state),
		} satisfies ChatAttachment);
		this.sockets.set(user, server);
		// One chat socket per user: a reload replaces the old one.
		for (const old of this.socketsOf(user)) {
			if (old !== server) closeSocket(old, CLOSE_REPLACED);
		}
		const { me: member, partner: partnerMember, partnerId: partner } = sides(state, user);
		member.joined = true;
		member.offlineSince = null;
		const partnerSocket = this.socketOf(partner);
		this.markVanished(state, now);
		send(server, "chat_joined", { chat_id: state.chatId, partner_online: partnerSocket !== null });
		if (partnerSocket) send(partnerSocket, "partner_status", { online: true });
		// Held messages, and with after=N anything the client says it missed
		// (a client that confirms gets again whatever it did not confirm).
		const from = after ?? (member.receipts === true ? member.confirmed : member.delivered);
		const again = [...this.store.messagesFor(user, from), ...this.unconfirmed.from(partner, from)];
		for (const m of again.sort((x, y) => x.id - y.id)) {
			this.deliver(server, state, m);
			member.delivered = Math.max(member.delivered, m.id);
		}
		// What the partner confirmed while this user was away.
		const confirmed = partnerMember.confirmed;
		if (confirmed > 0) send(server, "message_delivered", { chat_id: state.chatId, up_to: confirmed });
		this.store.saveMembers(state);
		this.settle();
		this.reschedule(now);
		return response;
	}

	// ---- relaying ------------------------------------------------------------

	override webSocketMessage(ws: WebSocket, message: string | ArrayBuffer): Sync {
		const done = this.frames.serially(ws, () => this.onFrame(ws, message));
		if (done instanceof Promise) return done;
		this.settle();
	}

	private onFrame(ws: WebSocket, message: string | ArrayBuffer): Sync {
		const now = Date.now();
		if (tooBigToRead(message)) {
			closeSocket(ws, CLOSE_TOO_BIG);
			return this.goneOffline(ws, now);
		}
		const admitted = this.frames.admit(ws, parseChat(message), now, (closed) => {
			if (closed) this.goneOffline(ws, now);
		});
		if (!admitted) return;
		const { event, att } = admitted;
		const state = this.state();
		if (!state || this.ending) {
			return sendError(ws, { code: "wrong_chat", message: "this chat has ended", requestType: event.type });
		}
		// While frames keep coming the object stays awake: silent sockets are looked for here, not by the alarm.
		this.sweep(state, now);
		switch (event.type) {
			case "send_message":
				return this.relay(ws, state, att.user, event.payload, now);
			case "received":
				return this.confirm(ws, state, att.user, event.payload.up_to);
			case "typing": {
				const partner = this.socketOf(partnerOf(state, att.user));
				if (partner) send(partner, "partner_typing", { is_typing: event.payload.is_typing });
				return;
			}
			case "leave_chat":
				return this.end(state, { kind: "left", by: att.user });
			case "report": {
				// Free text stays out of the logs: only a known category is kept.
				const reason = reportReason(event.payload.reason);
				log({ event: "report", chat_id: state.chatId, reason });
				return this.end(state, { kind: "reported", by: att.user, reason });
			}
		}
	}

	private relay(
		ws: WebSocket,
		state: ChatState,
		sender: string,
		payload: Extract<ChatClientEvent, { type: "send_message" }>["payload"],
		now: number,
	): void {
		if (payload.chat_id !== undefined && payload.chat_id !== state.chatId) {
			sendError(ws, { code: "wrong_chat", message: "chat_id is not this chat's", requestType: "send_message" });
			return;
		}
		const clientMsgId = payload.client_msg_id ?? null;
		if (clientMsgId !== null) {
			// A resend of a message already accepted: ack it again, deliver nothing;
			// one still waiting for its receipt is acked when that comes.
			const earlier = this.recentAcks.get(clientKey(sender, clientMsgId)) ?? this.store.byClientId(sender, clientMsgId);
			if (earlier) {
				this.sendAck(ws, state, { id: earlier.id, clientMsgId, sentAt: earlier.sentAt });
				return;
			}
			const waiting = this.unconfirmed.byClientId(sender, clientMsgId);
			if (waiting) {
				waiting.resends = (waiting.resends ?? 0) + 1;
				return;
			}
		}

		const { me: author, partner: member, partnerId: recipient } = sides(state, sender);
		// First contact: no links, handles, addresses or numbers until the chat has had a chance.
		if (gateHolds(state.matchedAt, now, author.sent, this.timings.linkGateMs)) {
			const kind = contactIn(payload.content);
			if (kind) {
				sendError(ws, {
					code: "link_blocked",
					message: `links and contact details (${kind}) are not allowed in the first ${Math.round(this.timings.linkGateMs / 1000)} seconds and first 3 messages of a chat`,
					requestType: "send_message",
				});
				return;
			}
		}
		const partner = this.socketOf(recipient);
		// Stored at once when the partner is away or never confirms; else it waits for the receipt.
		const storeNow = partner === null || member.receipts === false;
		// A chat's storage is bounded: past it, a sender whose partner is away waits.
		if (storeNow && !this.store.makeRoom(codePoints(payload.content), state)) {
			sendError(
				ws,
				{
					code: "rate_limited",
					message: "your partner has too many messages waiting; wait until they are back",
					requestType: "send_message",
				},
				this.timings.graceMs,
			);
			return;
		}
		const { id, reserve } = this.ids.take();
		const message: AcceptedMessage = { id, sender, content: payload.content, clientMsgId, sentAt: now };
		author.sent++;
		author.lastSent = id;
		this.dirty = true;
		// Relayed before any write, so that the partner's copy does not wait for
		// a commit (the runtime holds frames sent after a write until it is
		// durable); the ack of a stored message is sent after its write, and so
		// waits: nothing is acked that a restart could lose.
		if (partner) {
			this.deliver(partner, state, message);
			member.delivered = id;
		}
		if (storeNow) {
			this.storeMessages([message], partner !== null);
			this.ack(state, message);
		} else {
			this.unconfirmed.add(message);
		}
		if (reserve !== null) this.countMessageRows(() => this.store.reserveIds(reserve));
	}

	/** `received {up_to}`: the partner's messages up to there are safe; their sender is acked and told. */
	private confirm(ws: WebSocket, state: ChatState, user: string, upTo: number): void {
		const { me, partner: them, partnerId: partner } = sides(state, user);
		if (upTo > Math.max(them.lastSent, this.idsBeforeRestart)) {
			sendError(ws, {
				code: "invalid_payload",
				message: "up_to is not the id of a message your partner sent",
				requestType: "received",
			});
			return;
		}
		if (me.receipts !== true) me.receipts = true;
		if (upTo <= me.confirmed) return;
		me.confirmed = upTo;
		me.delivered = Math.max(me.delivered, upTo);
		this.dirty = true;
		for (const m of this.unconfirmed.confirm(partner, upTo)) this.ack(state, m);
		const senderSocket = this.socketOf(partner);
		if (senderSocket) send(senderSocket, "message_delivered", { chat_id: state.chatId, up_to: upTo });
		// After the frames: they need not wait for this write.
		this.countMessageRows(() => this.store.dropConfirmed(partner, upTo));
	}

	private deliver(ws: WebSocket, state: ChatState, m: AcceptedMessage): void {
		send(ws, "message_received", {
			chat_id: state.chatId,
			message_id: m.id,
			content: m.content,
			...(m.clientMsgId === null ? {} : { client_msg_id: m.clientMsgId }),
			sent_at: m.sentAt,
		});
	}

	/** The server now answers for `m`: its sender hears `message_sent` (on whichever socket it has now). */
	private ack(state: ChatState, m: AcceptedMessage): void {
		if (m.clientMsgId !== null) this.rememberAck(m.sender, m.clientMsgId, { id: m.id, sentAt: m.sentAt });
		const socket = this.socketOf(m.sender);
		if (!socket) return;
		for (let i = 0; i <= (m.resends ?? 0); i++) this.sendAck(socket, state, m);
	}

	private rememberAck(sender: string, clientMsgId: string, as: AcceptedAs): void {
		const key = clientKey(sender, clientMsgId);
		if (this.recentAcks.has(key)) return;
		this.recentAcks.set(key, as);
		if (this.recentAcks.size > RECENT_CLIENT_IDS) {
			const oldest = this.recentAcks.keys().next();
			if (!oldest.done) this.recentAcks.delete(oldest.value);
		}
		const kept = this.keptAcks.get(sender) ?? [];
		this.keptAcks.set(sender, kept);
		kept.push([clientMsgId, as.id, as.sentAt]);
		if (kept.length > KEPT_CLIENT_IDS) kept.shift();
	}

	private sendAck(ws: WebSocket, state: ChatState, m: Pick<AcceptedMessage, "id" | "clientMsgId" | "sentAt">): void {
		send(ws, "message_sent", {
			chat_id: state.chatId,
			message_id: m.id,
			...(m.clientMsgId === null ? {} : { client_msg_id: m.clientMsgId }),
			sent_at: m.sentAt,
		});
	}

	private storeMessages(messages: AcceptedMessage[], relayed: boolean): void {
		if (messages.length === 0) return;
		this.countMessageRows(() => this.store.append(messages, relayed));
		this.storedTotal += messages.length;
		this.dirty = true;
	}

	private countMessageRows(write: () => void): void {
		const before = this.meter.rowsWritten;
		write();
		this.messageRows += this.meter.rowsWritten - before;
	}

	// ---- the receipt deadline, and the attachments ------------------------------

	/**
	 * At the end of every event. While messages wait for their receipt, a
	 * timer at the oldest one's deadline (one `setTimeout`, moved only when
	 * that deadline is earlier than the pending one; a receipt that confirms
	 * everything clears it, so a chat whose partner confirms in time never
	 * sees it fire). Once nothing waits, whatever changed goes into the
	 * attachments at once: with no timer pending the object may hibernate
	 * after any event, and it must wake where it was.
	 */
	private settle(): void {
		const state = this.chat;
		if (!state || this.ending) return;
		const oldest = this.unconfirmed.oldest();
		if (oldest === null) {
			if (this.tick) clearTimeout(this.tick.timer);
			this.tick = null;
			this.flushVolatile(state);
			return;
		}
		const at = oldest + RECEIPT_TIMEOUT_MS;
		if (this.tick && this.tick.at <= at) return;
		if (this.tick) clearTimeout(this.tick.timer);
		this.tick = { at, timer: setTimeout(() => this.onTick(), Math.max(0, at - Date.now())) };
	}

	private onTick(): void {
		this.tick = null;
		try {
			const state = this.state();
			if (!state || this.ending) return;
			this.storeOverdue(state, Date.now());
			this.settle();
		} catch (err) {
			log({ event: "internal_error", where: "chat room: receipt deadline", error: errorText(err) });
		}
	}

	/** Messages whose receipt is overdue are stored, then acked; a partner that never confirmed is taken for one that never will. */
	private storeOverdue(state: ChatState, now: number): void {
		const overdue = this.unconfirmed.takeDue(now - RECEIPT_TIMEOUT_MS);
		if (overdue.length === 0) return;
		for (const m of overdue) {
			const recipient = sides(state, m.sender).partner;
			if (recipient.receipts === null) recipient.receipts = false;
		}
		// Held for an online partner: past the bound, the oldest the partner has go first.
		this.store.makeRoom(0, state);
		this.storeMessages(overdue, true);
		for (const m of overdue) this.ack(state, m);
	}

	private volatile(state: ChatState): Volatile {
		const members: Volatile["members"] = {};
		for (const user of state.users) {
			const m = memberOf(state, user);
			members[user] = { sent: m.sent, lastSent: m.lastSent, confirmed: m.confirmed, receipts: m.receipts };
		}
		const acks: Volatile["acks"] = Object.fromEntries(this.keptAcks);
		return {
			next: this.ids.next,
			rows: this.meter.rowsWritten,
			messageRows: this.messageRows,
			stored: this.storedTotal,
			members,
			acks,
		};
	}

	/** Into each member's socket's attachment: hibernation keeps those, and costs no row. */
	private flushVolatile(state: ChatState): void {
		if (!this.dirty) return;
		this.dirty = false;
		const v = this.volatile(state);
		for (const user of state.users) {
			const ws = this.socketOf(user);
			if (!ws) continue;
			const att = this.hub.attachment(ws);
			att.v = v;
			ws.serializeAttachment(att);
		}
	}

	// ---- leaving ---------------------------------------------------------------

	override webSocketClose(ws: WebSocket, code: number, reason: string): void {
		this.goneOffline(ws, Date.now());
		echoClose(ws, code, reason);
	}

	override webSocketError(ws: WebSocket): void {
		this.goneOffline(ws, Date.now());
	}

	/**
	 * A member who joined, counts as online, and has no open socket lost it
	 * without a close event (a restart or deploy drops every socket): offline
	 * from now on, so that the grace period runs and the chat ends if it does
	 * not come back.
	 */
	private markVanished(state: ChatState, now: number): boolean {
		let changed = false;
		for (const user of state.users) {
			const member = memberOf(state, user);
			if (!member.joined || member.offlineSince !== null || this.socketsOf(user).length > 0) continue;
			member.offlineSince = now;
			changed = true;
		}
		return changed;
	}

	/** A user's only chat socket closed: the partner is told, the grace period starts. */
	private goneOffline(ws: WebSocket, now: number): void {
		const state = this.state();
		if (!state || this.ending) return;
		const user = this.hub.attachment(ws).user;
		if (this.socketsOf(user).some((s) => s !== ws)) return;
		const member = memberOf(state, user);
		if (member.offlineSince !== null) return;
		member.offlineSince = now;
		// What this user did not confirm may never have reached it: the server
		// answers for it now, holds it like a message sent while the user was
		// away (never dropped to make room), and sends it again on return.
		const partnerId = partnerOf(state, user);
		const waiting = this.unconfirmed.takeFrom(partnerId);
		const first = waiting[0];
		if (first) member.delivered = Math.min(member.delivered, first.id - 1);
		this.storeMessages(waiting, false);
		for (const m of waiting) this.ack(state, m);
		this.saveMembers(state, ws);
		const partner = this.socketOf(partnerId);
		if (partner) send(partner, "partner_status", { online: false });
		this.settle();
		this.reschedule(now);
	}

	/**
	 * Closes sockets silent for longer than the heartbeat timeout: on frames
	 * at most once per sweep interval (free while the object is awake), and
	 * always when the alarm fires. A chat has a socket or two, so the sweep
	 * is one slice and done when this returns.
	 */
	private sweep(state: ChatState, now: number, force = false): void {
		if (!this.hub.sweepDue(now, this.timings.sweepMs, force)) return;
		void this.hub.sweepSilent(now, this.timings.heartbeatTimeoutMs, (ws) => this.goneOffline(ws, now));
		if (this.markVanished(state, now)) this.saveMembers(state);
	}

	/**
	 * The members' marks; once nobody is online, with what memory holds
	 * (ids, receipts, acked client_msg_ids): no socket's attachment keeps it
	 * then, and an idle object is evicted. One row either way.
	 */
	private saveMembers(state: ChatState, leaving?: WebSocket): void {
		if (this.openSockets().some((ws) => ws !== leaving)) {
			this.store.saveMembers(state);
			return;
		}
		const kept = this.volatile(state);
		kept.rows++; // this write
		this.store.saveMembers(state, JSON.stringify(kept));
		this.dirty = false;
	}

	override async alarm(): Promise<void> {
		this.alarms.begin();
		const now = Date.now();
		try {
			await this.onAlarm(now);
		} finally {
			// One `setAlarm` per run, whatever it asked for (an end sets its own at once).
			this.alarms.finish(now + 1);
		}
	}

	private async onAlarm(now: number): Promise<void> {
		const tomb = this.store.tombstone();
		if (tomb) return this.settleTombstone(tomb, now);
		const state = this.state();
		if (!state) return;
		if (!this.matchmakerTold && this.matchmakerRetry) await this.tellMatchmakerJoined(state);
		this.storeOverdue(state, now);
		this.sweep(state, now, true);
		const cause = dueEnd(state, now, this.timings);
		if (cause) return this.end(state, cause);
		this.settle();
		this.reschedule(now);
	}

	/**
	 * Ends the chat. The Matchmaker hears first, so that a client that gets
	 * `chat_ended` and rejoins the queue at once is not told `in_chat`; no
	 * other event runs in between. Messages still waiting for a receipt were
	 * never acked, and are not now.
	 */
	private end(state: ChatState, cause: EndCause): Promise<void> {
		this.ending = true;
		if (this.tick) clearTimeout(this.tick.timer);
		this.tick = null;
		return this.ctx.blockConcurrencyWhile(async () => {
			const notice: ChatEnd = {
				reason: causeReason(cause),
				users: state.users,
				...(cause.kind === "reported" ? { reportedBy: cause.by, reportReason: cause.reason } : {}),
			};
			let failed: Tombstone["notify"];
			try {
				await this.matchmaker(state).chatEnded(state.chatId, notice);
			} catch (err) {
				log({ event: "internal_error", where: "chat room: chatEnded (will retry)", error: errorText(err) });
				failed = { lobby: state.lobby, chatId: state.chatId, ...notice };
			}
			const reasons = endReasons(state, cause);
			for (const ws of this.openSockets()) {
				const reason = reasons[this.hub.attachment(ws).user];
				if (reason) send(ws, "chat_ended", { chat_id: state.chatId, reason });
				closeSocket(ws, CLOSE_CHAT_ENDED);
			}
			// Until the abandon deadline a valid ticket could still open the chat
			// afresh; a tombstone stops that. No messages or ids survive.
			const until = state.matchedAt + this.timings.abandonMs;
			const now = Date.now();
			const tomb: Tombstone | null = failed || until > now ? { until, ...(failed ? { notify: failed } : {}) } : null;
			await this.store.wipe(tomb);
			this.chat = null;
			if (tomb) this.alarms.replace(failed ? now + NOTIFY_RETRY_MS : until);
			const messages = state.members.a.sent + state.members.b.sent;
			log({
				event: "chat_ended",
				chat_id: state.chatId,
				reason: notice.reason,
				duration_ms: now - state.matchedAt,
				messages,
				messages_stored: this.storedTotal,
				rows_written: this.meter.rowsWritten,
				message_rows_written: this.messageRows,
			});
		});
	}

	private async settleTombstone(tomb: Tombstone, now: number): Promise<void> {
		if (tomb.notify) {
			const { lobby: matchmaker, chatId, reason, users, reportedBy, reportReason: category } = tomb.notify;
			try {
				await matchmakerStub(this.env, matchmaker).chatEnded(chatId, {
					reason,
					...(users ? { users } : {}),
					...(reportedBy ? { reportedBy, reportReason: category ?? "other" } : {}),
				});
			} catch (err) {
				log({ event: "internal_error", where: "chat room: chatEnded retry", error: errorText(err) });
				this.alarms.replace(now + NOTIFY_RETRY_MS);
				return;
			}
		}
		if (now >= tomb.until) {
			await this.ctx.storage.deleteAll();
			this.meter.add(1);
			return;
		}
		await this.store.wipe({ until: tomb.until });
		this.alarms.replace(tomb.until);
	}

	// ---- helpers ---------------------------------------------------------------

	/** The Matchmaker that made this chat. */
	private matchmaker(state: ChatState) {
		return matchmakerStub(this.env, state.lobby);
	}

	private openSockets(): WebSocket[] {
		return this.hub.open();
	}

	/** A user's open sockets (each is tagged with its user id). */
	private socketsOf(user: string): WebSocket[] {
		return this.hub.open(user);
	}

	/** A user's open chat socket: remembered, since every message looks up the partner's. */
	private socketOf(user: string): WebSocket | null {
		const known = this.sockets.get(user);
		if (known && known.readyState === WebSocket.OPEN) return known;
		const found = this.socketsOf(user).at(-1) ?? null;
		if (found) this.sockets.set(user, found);
		else this.sockets.delete(user);
		return found;
	}

	/**
	 * One alarm: the earliest end deadline, a retry of the Matchmaker notice,
	 * and while anyone is connected the moment the longest-silent socket
	 * would pass the heartbeat timeout (pings answered by the runtime move it
	 * later without waking the object, so it fires about once a ping
	 * interval, busy or not). Set only when that is earlier than the alarm
	 * pending: each `setAlarm` is a row written.
	 */
	private reschedule(now: number): void {
		const state = this.state();
		if (!state) return;
		const candidates: number[] = [];
		const deadline = nextDeadline(state, this.timings);
		if (deadline !== null) candidates.push(deadline);
		if (!this.matchmakerTold && this.matchmakerRetry) candidates.push(now + NOTIFY_RETRY_MS);
		const open = this.openSockets();
		if (open.length > 0) {
			const silentSince = Math.min(...open.map((ws) => this.hub.lastSeen(ws)));
			candidates.push(silentSince + this.timings.heartbeatTimeoutMs + 1);
		}
		if (candidates.length === 0) return;
		this.alarms.fireBy(Math.max(now + 1, Math.min(...candidates)));
	}
}

const clientKey = (sender: string, clientMsgId: string) => `${sender}\n${clientMsgId}`;

function refuseTicket(reason: "invalid" | "chat_over" | "foreign", text: string): Response {
	log({ event: "ticket_refused", reason });
	return refuseSocket({ code: CLOSE_BAD_TICKET, reason: text });
}
