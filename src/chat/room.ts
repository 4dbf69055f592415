// One ChatRoom Durable Object per chat. Created by its first user's connection
// (so it lives near that user), it checks tickets, relays, acks, holds messages
// for a partner who dropped, and ends the chat: it tells the Matchmaker, says
// `chat_ended` to both, and deletes everything it stored.
//
// Hibernation: each socket is tagged with its user id, so `getWebSockets(user)`
// finds a user's socket after the object woke; the chat itself is in SQLite.
import { DurableObject } from "cloudflare:workers";
import { type Signer, signerFrom, type TicketClaims } from "../auth/signing";
import { LIMITS, type Timings, timingsFrom } from "../config";
import type { Env } from "../env";
import { LimitsBySocket } from "../limits/socket-limits";
import type { ChatEnd } from "../lobby/matchmaker";
import { errorText, log } from "../log";
import { CLOSE_TOO_BIG } from "../protocol/close-codes";
import { PING_FRAME, PONG_FRAME, parseChat, tooBigToRead } from "../protocol/codec";
import { type ChatClientEvent, codePoints, reportReason } from "../protocol/schemas";
import { contactIn, gateHolds } from "../safety/link-gate";
import {
	admitFrame,
	attachmentOf,
	closeSocket,
	lastSeen,
	refuseSocket,
	send,
	sendError,
	sendFrame,
	sendInternalError,
	touchSeen,
} from "../sockets";
import { type ChatState, causeReason, dueEnd, type EndCause, endReasons, nextDeadline, partnerOf } from "./lifecycle";
import { ChatStore, type Tombstone } from "./store";

interface ChatAttachment {
	user: string;
	seen: number;
}

/** Close code for a missing, forged, expired or foreign ticket. */
export const CLOSE_BAD_TICKET = 4401;
/** How long a failed notice to the Matchmaker waits before it is tried again. */
const NOTIFY_RETRY_MS = 5_000;

type Sync = void | Promise<void>;

export class ChatRoom extends DurableObject<Env> {
	private readonly store: ChatStore;
	private readonly timings: Timings;
	private readonly signer: Signer | null;
	private readonly limits = new LimitsBySocket(LIMITS.message);
	/** undefined: not read yet; null: no live chat here. */
	private chat: ChatState | null | undefined;
	/** user → newest open socket; a cache of `getWebSockets(user)`. */
	private readonly sockets = new Map<string, WebSocket>();
	private ending = false;
	private nextSweep = 0;

	constructor(ctx: DurableObjectState, env: Env) {
		super(ctx, env);
		this.store = new ChatStore(ctx.storage);
		this.timings = timingsFrom(env);
		this.signer = signerFrom(env.SECRET);
		ctx.setWebSocketAutoResponse(new WebSocketRequestResponsePair(PING_FRAME, PONG_FRAME));
	}

	private state(): ChatState | null {
		if (this.chat === undefined) this.chat = this.store.load();
		return this.chat;
	}

	// ---- joining -------------------------------------------------------------

	override async fetch(request: Request): Promise<Response> {
		if (request.headers.get("Upgrade")?.toLowerCase() !== "websocket") {
			return new Response("expected a WebSocket upgrade", { status: 426, headers: { Upgrade: "websocket" } });
		}
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
		const member = () => ({ joined: false, delivered: 0, offlineSince: null, sent: 0 });
		const state: ChatState = {
			chatId: claims.c,
			users: [claims.u, claims.p],
			matchedAt: claims.m,
			lobby: claims.l,
			nextId: 1,
			members: { [claims.u]: member(), [claims.p]: member() },
		};
		this.store.create(state);
		this.chat = state;
		void this.tellLobbyJoined(state);
		return state;
	}

	/**
	 * The Matchmaker drops chats nobody joined shortly after the abandon
	 * deadline; it must hear that this one started. Retried by the alarm until it has.
	 */
	private async tellLobbyJoined(state: ChatState): Promise<void> {
		try {
			await this.lobby(state).chatJoined(state.chatId);
			// Not if the chat ended meanwhile: its storage is wiped and stays so.
			if (this.chat === state) this.store.markLobbyTold();
		} catch (err) {
			log({ event: "internal_error", where: "chat room: chatJoined (will retry)", error: errorText(err) });
		}
	}

	private admit(state: ChatState, user: string, after: number | null, now: number): Response {
		const pair = new WebSocketPair();
		const server = pair[1];
		this.ctx.acceptWebSocket(server, [user]);
		server.serializeAttachment({ user, seen: now } satisfies ChatAttachment);
		this.sockets.set(user, server);
		// One chat socket per user: a reload replaces the old one.
		for (const old of this.socketsOf(user)) {
			if (old !== server) closeSocket(old, 4409, "replaced by a newer connection");
		}
		const partner = partnerOf(state, user);
		const member = state.members[user];
		if (member) {
			member.joined = true;
			member.offlineSince = null;
		}
		const partnerSocket = this.socketOf(partner);
		this.markVanished(state, now);
		send(server, "chat_joined", { chat_id: state.chatId, partner_online: partnerSocket !== null });
		if (partnerSocket) send(partnerSocket, "partner_status", { online: true });
		// Held messages, and with after=N anything the client says it missed.
		if (member) {
			for (const m of this.store.messagesFor(user, after ?? member.delivered)) {
				send(server, "message_received", {
					chat_id: state.chatId,
					message_id: m.id,
					content: m.content,
					sent_at: m.sentAt,
				});
				member.delivered = Math.max(member.delivered, m.id);
			}
		}
		this.store.saveMember(user, member);
		this.reschedule(now);
		return new Response(null, { status: 101, webSocket: pair[0] });
	}

	// ---- relaying ------------------------------------------------------------

	override webSocketMessage(ws: WebSocket, message: string | ArrayBuffer): Sync {
		try {
			const result = this.onFrame(ws, message);
			return result instanceof Promise
				? result.catch((err: unknown) => sendInternalError(ws, "chat room", err))
				: result;
		} catch (err) {
			sendInternalError(ws, "chat room", err);
		}
	}

	private onFrame(ws: WebSocket, message: string | ArrayBuffer): Sync {
		const now = Date.now();
		if (tooBigToRead(message)) {
			closeSocket(ws, CLOSE_TOO_BIG.code, CLOSE_TOO_BIG.reason);
			return this.goneOffline(ws, now);
		}
		const event = admitFrame(ws, parseChat(message), this.limits, "chat", "send_message", now, (closed) => {
			if (closed) this.goneOffline(ws, now);
		});
		if (!event) return;
		const att = attachment(ws);
		touchSeen(ws, att, now);
		if (event.type === "ping") return sendFrame(ws, PONG_FRAME);
		const state = this.state();
		if (!state || this.ending) {
			return sendError(ws, { code: "wrong_chat", message: "this chat has ended", requestType: event.type });
		}
		switch (event.type) {
			case "send_message":
				return this.relay(ws, state, att.user, event.payload, now);
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
		const ack = (id: number, sentAt: number) =>
			send(ws, "message_sent", {
				chat_id: state.chatId,
				message_id: id,
				...(clientMsgId === null ? {} : { client_msg_id: clientMsgId }),
				sent_at: sentAt,
			});
		// A resend of a message already accepted: ack it again, deliver nothing.
		const earlier = clientMsgId === null ? null : this.store.byClientId(sender, clientMsgId);
		if (earlier) {
			ack(earlier.id, earlier.sentAt);
			return;
		}

		const author = state.members[sender];
		// First contact: no links, handles, addresses or numbers until the chat has had a chance.
		if (author && gateHolds(state.matchedAt, now, author.sent, this.timings.linkGateMs)) {
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
		// A chat's storage is bounded: past it, a sender whose partner is away waits.
		if (!this.store.makeRoom(codePoints(payload.content))) {
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
		const message = { id: state.nextId, sender, content: payload.content, clientMsgId, sentAt: now };
		state.nextId++;
		if (author) author.sent++;
		const recipient = partnerOf(state, sender);
		const partner = this.socketOf(recipient);
		const member = state.members[recipient];
		// Relayed before the write, so that the partner's copy does not wait
		// for the commit (the runtime holds frames sent after a write until it
		// is durable); the sender's ack is sent after it, and so waits: nothing
		// is acked that a restart could lose.
		if (partner && member) {
			send(partner, "message_received", {
				chat_id: state.chatId,
				message_id: message.id,
				content: message.content,
				sent_at: now,
			});
			member.delivered = message.id;
		}
		this.store.append(message, partner !== null && member !== undefined);
		ack(message.id, now);
	}

	// ---- leaving ---------------------------------------------------------------

	override webSocketClose(ws: WebSocket, code: number, reason: string): void {
		this.goneOffline(ws, Date.now());
		closeSocket(ws, code === 1005 ? 1000 : code, reason);
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
	private markVanished(state: ChatState, now: number): void {
		for (const user of state.users) {
			const member = state.members[user];
			if (!member?.joined || member.offlineSince !== null || this.socketsOf(user).length > 0) continue;
			member.offlineSince = now;
			this.store.saveMember(user, member);
		}
	}

	/** A user's only chat socket closed: the partner is told, the grace period starts. */
	private goneOffline(ws: WebSocket, now: number): void {
		const state = this.state();
		if (!state || this.ending) return;
		const user = attachment(ws).user;
		if (this.socketsOf(user).some((s) => s !== ws)) return;
		const member = state.members[user];
		if (!member || member.offlineSince !== null) return;
		member.offlineSince = now;
		this.store.saveMember(user, member);
		const partner = this.socketOf(partnerOf(state, user));
		if (partner) send(partner, "partner_status", { online: false });
		this.reschedule(now);
	}

	override async alarm(): Promise<void> {
		const now = Date.now();
		const tomb = this.store.tombstone();
		if (tomb) return this.settleTombstone(tomb, now);
		const state = this.state();
		if (!state) return;
		if (!this.store.lobbyTold()) await this.tellLobbyJoined(state);
		if (now >= this.nextSweep) {
			this.nextSweep = now + this.timings.sweepMs;
			for (const ws of this.openSockets()) {
				if (now - lastSeen(this.ctx, ws, attachment(ws).seen) <= this.timings.heartbeatTimeoutMs) continue;
				closeSocket(ws, 1001, "heartbeat timeout");
				this.goneOffline(ws, now);
			}
		}
		this.markVanished(state, now);
		const cause = dueEnd(state, now, this.timings);
		if (cause) return this.end(state, cause);
		this.reschedule(now);
	}

	/**
	 * Ends the chat. The Matchmaker hears first, so that a client that gets
	 * `chat_ended` and rejoins the queue at once is not told `in_chat`; no
	 * other event runs in between.
	 */
	private end(state: ChatState, cause: EndCause): Promise<void> {
		this.ending = true;
		return this.ctx.blockConcurrencyWhile(async () => {
			const notice: ChatEnd = {
				reason: causeReason(cause),
				users: state.users,
				...(cause.kind === "reported" ? { reportedBy: cause.by, reportReason: cause.reason } : {}),
			};
			let failed: Tombstone["notify"];
			try {
				await this.lobby(state).chatEnded(state.chatId, notice);
			} catch (err) {
				log({ event: "internal_error", where: "chat room: chatEnded (will retry)", error: errorText(err) });
				failed = { lobby: state.lobby, chatId: state.chatId, ...notice };
			}
			log({
				event: "chat_ended",
				chat_id: state.chatId,
				reason: notice.reason,
				duration_ms: Date.now() - state.matchedAt,
				messages: state.nextId - 1,
			});
			const reasons = endReasons(state, cause);
			for (const ws of this.openSockets()) {
				const reason = reasons[attachment(ws).user];
				if (reason) send(ws, "chat_ended", { chat_id: state.chatId, reason });
				closeSocket(ws, 1000, "chat ended");
			}
			// Until the abandon deadline a valid ticket could still open the chat
			// afresh; a tombstone stops that. No messages or ids survive.
			const until = state.matchedAt + this.timings.abandonMs;
			const now = Date.now();
			const tomb: Tombstone | null = failed || until > now ? { until, ...(failed ? { notify: failed } : {}) } : null;
			await this.store.wipe(tomb);
			this.chat = null;
			if (tomb) await this.ctx.storage.setAlarm(failed ? now + NOTIFY_RETRY_MS : until);
		});
	}

	private async settleTombstone(tomb: Tombstone, now: number): Promise<void> {
		if (tomb.notify) {
			const { lobby, chatId, reason, users, reportedBy, reportReason: category } = tomb.notify;
			try {
				await this.env.MATCHMAKER.get(this.env.MATCHMAKER.idFromName(lobby)).chatEnded(chatId, {
					reason: reason as ChatEnd["reason"],
					...(users ? { users } : {}),
					...(reportedBy ? { reportedBy, reportReason: category ?? "other" } : {}),
				});
			} catch (err) {
				log({ event: "internal_error", where: "chat room: chatEnded retry", error: errorText(err) });
				await this.ctx.storage.setAlarm(now + NOTIFY_RETRY_MS);
				return;
			}
		}
		if (now >= tomb.until) {
			await this.ctx.storage.deleteAll();
			return;
		}
		await this.store.wipe({ until: tomb.until });
		await this.ctx.storage.setAlarm(tomb.until);
	}

	// ---- helpers ---------------------------------------------------------------

	private lobby(state: ChatState) {
		return this.env.MATCHMAKER.get(this.env.MATCHMAKER.idFromName(state.lobby));
	}

	private openSockets(): WebSocket[] {
		return this.ctx.getWebSockets().filter((ws) => ws.readyState === WebSocket.OPEN);
	}

	private socketsOf(user: string): WebSocket[] {
		return this.ctx.getWebSockets(user).filter((ws) => ws.readyState === WebSocket.OPEN);
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

	/** One alarm: the earliest of the end deadlines and, while anyone is connected, the next sweep. */
	private reschedule(now: number): void {
		const state = this.state();
		if (!state) return;
		const candidates: number[] = [];
		const deadline = nextDeadline(state, this.timings);
		if (deadline !== null) candidates.push(deadline);
		if (this.openSockets().length > 0) {
			if (this.nextSweep <= now) this.nextSweep = now + this.timings.sweepMs;
			candidates.push(this.nextSweep);
		}
		if (candidates.length > 0) void this.ctx.storage.setAlarm(Math.max(now + 1, Math.min(...candidates)));
	}
}

function refuseTicket(reason: "invalid" | "chat_over" | "foreign", text: string): Response {
	log({ event: "ticket_refused", reason });
	return refuseSocket(CLOSE_BAD_TICKET, text);
}

function attachment(ws: WebSocket): ChatAttachment {
	// Written only by `admit`, so its shape is known.
	return attachmentOf<ChatAttachment>(ws);
}
