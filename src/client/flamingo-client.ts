// FlamingoClient: the protocol of docs/PROTOCOL.md from a client's side, for
// the browser app and any other JavaScript client.
//
// It holds one socket at a time: the lobby until matched, then the chat socket,
// then the lobby again. Both reconnect by themselves (partysocket, with backoff;
// jitter is added here). The identity (user_id + token) is kept in
// localStorage so a returning visitor resumes; the live chat's transcript and
// unacked messages in sessionStorage so a reload rejoins with `after=N` and
// resends what was not acked, by `client_msg_id`.
//
// Delivery receipts: every `message_received` is answered within 100 ms by one
// `received {up_to}` (a burst shares one), so the partner's messages are
// acked at once and show as delivered there; a copy of a message already shown
// (same `client_msg_id`, a new id after a server restart) is dropped but still
// counted. Our own messages go sending → sent (`message_sent`) → delivered
// (`message_delivered`).
import ReconnectingWebSocket from "partysocket/ws";
import { TokenBucket } from "../domain/limits/token-bucket";
import { solve } from "../domain/safety/pow";
import { CLOSE_BAD_TICKET, CLOSE_BYE, CLOSE_NO_PONG, CLOSE_REPLACED, serverEnded } from "../protocol/close-codes";
import { PING_FRAME, parseServer } from "../protocol/codec";
import {
	type AgeBand,
	codePoints,
	type EndReason,
	type Gender,
	MAX_CONTENT_CHARS,
	type Preference,
	type Presence,
	type ServerEvent,
	type ServerEventType,
	type ServerPayload,
} from "../protocol/schemas";
import { wsOrigin } from "../protocol/urls";
import { Receipts } from "./receipts";
import {
	acked,
	addOutgoing,
	delivered,
	emptyTranscript,
	isTranscript,
	received,
	refused,
	type Transcript,
	unacked,
} from "./transcript";

export type { ChatMessage, MessageState, Transcript } from "./transcript";

/** What the UI shows: start screen, waiting, chat, ended. */
export type Phase = "idle" | "waiting" | "joining" | "chatting" | "ended";

/**
 * Why a chat ended: the server's reasons, plus two only the client can tell:
 * the chat was over when we came back, or another tab took over this identity.
 */
export type ClientEndReason = EndReason | "ended_while_away" | "replaced";

export interface Preferences {
	gender: Gender;
	preference: Preference;
	interests?: string[];
	/** Adults and teens are never matched; omitted means adult. */
	ageBand?: AgeBand;
}

/**
 * Finds a proof-of-work solution (docs/PROTOCOL.md, abuse challenge). The
 * browser app passes one that runs in a Web Worker; the default runs here.
 */
export type ChallengeSolver = (
	nonce: string,
	difficulty: number,
	onProgress: (tries: number) => void,
) => Promise<string | null>;

export interface Snapshot {
	phase: Phase;
	/** The socket the current phase needs is open (false while reconnecting). */
	connected: boolean;
	userId: string | null;
	presence: Presence | null;
	/** Users waiting, from the last `queue_joined`. */
	waiting: number | null;
	/** When the queue took us (local clock), for an elapsed-time display. */
	queuedAt: number | null;
	/** Whether interests were given, so the first seconds only try people sharing one. */
	withInterests: boolean;
	partner: { gender: Gender; sharedInterests: string[] } | null;
	partnerOnline: boolean;
	partnerTyping: boolean;
	transcript: Transcript | null;
	endReason: ClientEndReason | null;
	/** The last error the server sent, or a local one (`message_too_long`, `replaced`). */
	error: { code: string; message: string } | null;
	/** A proof of work being solved before the next join: its difficulty and the tries so far. */
	challenge: { difficulty: number; tries: number } | null;
}

/** The part of the Web Storage API the client uses; injectable for tests and Node. */
export interface KeyValueStorage {
	getItem(key: string): string | null;
	setItem(key: string, value: string): void;
	removeItem(key: string): void;
}

export interface ClientOptions {
	/** The server's http(s) origin, e.g. `location.origin`. */
	baseUrl: string;
	/** Identity store (default: localStorage when available). */
	storage?: KeyValueStorage | null;
	/** Live-chat store that survives a reload (default: sessionStorage when available). */
	sessionStorage?: KeyValueStorage | null;
	/** A WebSocket class (default: the global one). */
	WebSocket?: typeof WebSocket;
	/** Keep-alive interval; the server drops sockets silent for 40 s. */
	pingIntervalMs?: number;
	/**
	 * A socket that hears nothing within this long after a ping is taken for
	 * dead and reconnected: a network that went dark closes nothing, and the
	 * page would otherwise show "connected" while its messages stay unsent.
	 */
	pongTimeoutMs?: number;
	/** Reconnect backoff bounds (before jitter). */
	minReconnectDelayMs?: number;
	maxReconnectDelayMs?: number;
	/** How to solve an abuse challenge (default: SHA-256 on this thread). */
	solveChallenge?: ChallengeSolver;
	/**
	 * How long a delivery receipt waits for more messages to share its frame
	 * (default 50 ms). The protocol wants it out within 100 ms of the first.
	 */
	receiptDelayMs?: number;
}

const IDENTITY_KEY = "flamingo.identity";
const CHAT_KEY = "flamingo.chat";
/** How often a 4401 on the chat socket is retried through a fresh `ready.chat` ticket. */
const MAX_TICKET_RETRIES = 2;
/** Client-side pacing of send_message, under the server's limit. */
const SEND_PACE = { ratePerSec: 4, burst: 8 };
/** Typing is reported as stopped after this long without a keystroke. */
const TYPING_IDLE_MS = 3_000;
/** A receipt waits this long for more messages to share it: half of RECEIPT_WITHIN_MS. */
const RECEIPT_DELAY_MS = 50;

type Listener = (snapshot: Snapshot) => void;
type Handler<T extends ServerEventType> = (payload: ServerPayload<T>) => void;

const initialSnapshot = (): Snapshot => ({
	phase: "idle",
	connected: false,
	userId: null,
	presence: null,
	waiting: null,
	queuedAt: null,
	withInterests: false,
	partner: null,
	partnerOnline: false,
	partnerTyping: false,
	transcript: null,
	endReason: null,
	error: null,
	challenge: null,
});

function defaultStorage(kind: "localStorage" | "sessionStorage"): KeyValueStorage | null {
	try {
		return (globalThis as unknown as Record<string, KeyValueStorage | undefined>)[kind] ?? null;
	} catch {
		return null; // storage blocked (privacy settings)
	}
}

function randomKey(): string {
	const bytes = crypto.getRandomValues(new Uint8Array(12));
	return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

export class FlamingoClient {
	private state: Snapshot = initialSnapshot();
	private readonly listeners = new Set<Listener>();
	private readonly handlers = new Map<string, Set<(payload: never) => void>>();
	private readonly wsBase: string;
	private readonly storage: KeyValueStorage | null;
	private readonly session: KeyValueStorage | null;
	private lobby: ReconnectingWebSocket | null = null;
	private chat: ReconnectingWebSocket | null = null;
	private chatUrl: string | null = null;
	/** The preferences of the current search, kept for "next stranger". */
	private prefs: Preferences | null = null;
	/** Join the queue as soon as the lobby is ready. */
	private wantQueue = false;
	private ticketRetries = 0;
	private retryTimer: ReturnType<typeof setTimeout> | null = null;
	private pingTimer: ReturnType<typeof setInterval> | null = null;
	/** Per socket: when the ping still unanswered was sent (nothing heard since). */
	private readonly pingSentAt = new WeakMap<ReconnectingWebSocket, number>();
	private readonly pongTimers = new Set<ReturnType<typeof setTimeout>>();
	private typingSent = false;
	/**
	 * The challenge being solved, if any: a new object per attempt, so an
	 * attempt overtaken by cancel() and a new start() (the server repeats the
	 * same nonce) knows it is stale and leaves the new one alone.
	 */
	private solving: { nonce: string } | null = null;
	private typingTimer: ReturnType<typeof setTimeout> | null = null;
	/** Messages written to the chat socket and not acked yet (by client_msg_id). */
	private readonly inFlight = new Set<string>();
	/** Paces sends a little below the server's 5/s (bursts of 10), so it never has to refuse one. */
	private sendBudget = new TokenBucket(SEND_PACE, Date.now());
	private pumpTimer: ReturnType<typeof setTimeout> | null = null;
	/** Leave or report asked for while the chat socket was reconnecting: sent once it is back. */
	private pendingControl: { type: "leave_chat" | "report"; payload: object } | null = null;
	/** The `received` frames owed for the partner's messages. */
	private readonly receipts: Receipts;
	/**
	 * The transcript of the chat that ended here last. After `replaced` the
	 * user may still be in that chat on the server (the newer connection was
	 * this tab's own, abandoned attempt), and `ready.chat` brings it back:
	 * its messages, and what it drops as copies by `client_msg_id`, must
	 * come back with it.
	 */
	private endedTranscript: Transcript | null = null;

	constructor(private readonly options: ClientOptions) {
		const url = new URL(options.baseUrl);
		this.wsBase = wsOrigin(url);
		this.storage = options.storage === undefined ? defaultStorage("localStorage") : options.storage;
		this.session = options.sessionStorage === undefined ? defaultStorage("sessionStorage") : options.sessionStorage;
		this.receipts = new Receipts((upTo) => this.sendReceipt(upTo), options.receiptDelayMs ?? RECEIPT_DELAY_MS);
		const saved = this.read(this.session, CHAT_KEY);
		if (isTranscript(saved)) {
			this.state = { ...this.state, transcript: saved };
			// What the page had received is confirmed again once the chat socket is back.
			this.receipts.restore(saved.lastReceived);
		}
	}

	// ---- observing -------------------------------------------------------------

	get snapshot(): Snapshot {
		return this.state;
	}

	/** Calls `listener` on every change; returns the unsubscribe function. */
	subscribe(listener: Listener): () => void {
		this.listeners.add(listener);
		return () => this.listeners.delete(listener);
	}

	/** Raw server events, typed from the protocol schemas. */
	on<T extends ServerEventType>(type: T, handler: Handler<T>): () => void {
		let set = this.handlers.get(type);
		if (!set) {
			set = new Set();
			this.handlers.set(type, set);
		}
		const h = handler as (payload: never) => void;
		set.add(h);
		return () => set.delete(h);
	}

	private update(patch: Partial<Snapshot>): void {
		this.state = { ...this.state, ...patch };
		for (const listener of this.listeners) listener(this.state);
	}

	// ---- actions -----------------------------------------------------------------

	/** Opens the lobby (resuming the stored identity, and a live chat if there is one). */
	connect(): void {
		this.openLobby();
		this.startPings();
	}

	/** Looks for a stranger. */
	start(prefs: Preferences): void {
		this.prefs = prefs;
		this.wantQueue = true;
		this.update({
			phase: "waiting",
			endReason: null,
			error: null,
			waiting: null,
			queuedAt: null,
			withInterests: (prefs.interests?.length ?? 0) > 0,
			partner: null,
			transcript: null,
		});
		this.connect();
		if (this.lobbyReady) this.joinQueue();
	}

	/** Stops looking. */
	cancel(): void {
		this.wantQueue = false;
		this.clearRetry();
		// A join answered with a challenge did not queue us: nothing to leave (no `not_queued` error).
		const challenged = this.solving !== null;
		this.solving = null;
		if (this.state.challenge) this.update({ challenge: null });
		if (this.state.phase === "waiting") {
			if (!challenged) this.sendLobby({ type: "leave_queue", payload: {} });
			this.update({ phase: "idle", waiting: null, queuedAt: null });
		}
	}

	/** Sends a message; returns its `client_msg_id`, or null if it cannot be sent. */
	send(text: string): string | null {
		const t = this.state.transcript;
		const content = text.trim();
		if (!t || (this.state.phase !== "chatting" && this.state.phase !== "joining") || content.length === 0) return null;
		if (codePoints(content) > MAX_CONTENT_CHARS) {
			this.update({
				error: { code: "message_too_long", message: `Messages are at most ${MAX_CONTENT_CHARS} characters.` },
			});
			return null;
		}
		const key = randomKey();
		this.setTranscript(addOutgoing(t, key, content));
		// The partner's indicator stops with the message itself.
		this.typingSent = false;
		this.clearTypingTimer();
		this.pump();
		return key;
	}

	/** Tells the partner whether we are typing: only changes are sent; it stops by itself after 3 s. */
	setTyping(isTyping: boolean): void {
		if (this.state.phase !== "chatting") return;
		this.clearTypingTimer();
		if (isTyping) this.typingTimer = setTimeout(() => this.setTyping(false), TYPING_IDLE_MS);
		if (this.typingSent === isTyping) return;
		this.typingSent = isTyping;
		this.sendChat({ type: "typing", payload: { is_typing: isTyping } });
	}

	/** Ends the chat (or stops waiting). */
	leave(): void {
		if (this.state.phase === "chatting" || this.state.phase === "joining") {
			this.wantQueue = false;
			this.control({ type: "leave_chat", payload: {} });
		} else this.cancel();
	}

	/** Reports the partner and ends the chat; the pair is never matched again. */
	report(reason?: string): void {
		if (this.state.phase !== "chatting" && this.state.phase !== "joining") return;
		this.wantQueue = false;
		this.control({ type: "report", payload: reason ? { reason } : {} });
	}

	/** Next stranger: leaves the current chat if any, then looks again with the same preferences. */
	next(): void {
		const prefs = this.prefs;
		if (!prefs) return;
		if (this.state.phase === "chatting" || this.state.phase === "joining") {
			this.control({ type: "leave_chat", payload: {} });
			this.wantQueue = true;
			return;
		}
		this.start(prefs);
	}

	/** From the ended screen back to the start screen. */
	back(): void {
		this.wantQueue = false;
		this.update({ phase: "idle", endReason: null, partner: null, transcript: null, error: null });
	}

	/** Closes every socket; the client can be started again. */
	close(): void {
		this.wantQueue = false;
		this.clearRetry();
		this.closeLobby();
		this.closeChat();
		if (this.pingTimer !== null) clearInterval(this.pingTimer);
		this.pingTimer = null;
		for (const t of this.pongTimers) clearTimeout(t);
		this.pongTimers.clear();
		this.clearTypingTimer();
		// A receipt not sent yet goes after the next chat_joined, if the client is started again.
		this.receipts.hold();
		this.update({ connected: false });
	}

	// ---- the lobby socket ----------------------------------------------------------

	private lobbyReady = false;

	private openLobby(): void {
		if (this.lobby || this.chat) return;
		this.lobbyReady = false;
		const socket = this.reconnecting(`${this.wsBase}/ws`, (e) => !serverEnded(e) && e.code !== CLOSE_REPLACED.code);
		socket.addEventListener("open", () => {
			const id = this.read(this.storage, IDENTITY_KEY) as { user_id?: unknown; token?: unknown } | null;
			const payload =
				id && typeof id.user_id === "string" && typeof id.token === "string"
					? { user_id: id.user_id, token: id.token }
					: {};
			socket.send(JSON.stringify({ type: "init", payload }));
		});
		socket.addEventListener("message", (e) => this.receive(e.data, "lobby"));
		socket.addEventListener("close", (e) => {
			if (this.lobby !== socket) return;
			this.lobbyReady = false;
			if (this.state.phase === "idle" || this.state.phase === "waiting" || this.state.phase === "ended") {
				this.update({ connected: false });
			}
			// Closed "matched" but match_found never read (the socket was closing
			// when it came): the lobby's ready.chat says where the chat is.
			if (serverEnded(e) && this.state.phase === "waiting") {
				this.lobby = null;
				socket.close();
				this.openLobby();
				return;
			}
			if (e.code === CLOSE_REPLACED.code) {
				this.lobby = null;
				socket.close();
				this.wantQueue = false;
				this.update({
					phase: "idle",
					connected: false,
					error: { code: "replaced", message: "Flamingo Chat was opened in another tab." },
				});
			}
		});
		this.lobby = socket;
	}

	private closeLobby(): void {
		const socket = this.lobby;
		this.lobby = null;
		this.lobbyReady = false;
		socket?.close(CLOSE_BYE.code, CLOSE_BYE.reason);
	}

	private joinQueue(): void {
		const prefs = this.prefs;
		if (!prefs || !this.wantQueue) return;
		this.sendLobby({
			type: "join_queue",
			payload: {
				gender: prefs.gender,
				preference: prefs.preference,
				...(prefs.interests?.length ? { interests: prefs.interests } : {}),
				...(prefs.ageBand ? { age_band: prefs.ageBand } : {}),
			},
		});
	}

	/** The server wants proof of work before this join: solve, answer, join again. */
	private async answerChallenge(nonce: string, difficulty: number): Promise<void> {
		if (this.solving?.nonce === nonce || !this.wantQueue) return;
		const attempt = { nonce };
		this.solving = attempt;
		this.update({ challenge: { difficulty, tries: 0 } });
		const solver = this.options.solveChallenge ?? solve;
		const solution = await solver(nonce, difficulty, (tries) => {
			if (this.solving === attempt) this.update({ challenge: { difficulty, tries } });
		});
		if (this.solving !== attempt) return;
		this.solving = null;
		this.update({ challenge: null });
		if (!solution || !this.wantQueue) return;
		this.sendLobby({ type: "solve", payload: { nonce, solution } });
		this.joinQueue();
	}

	// ---- the chat socket -----------------------------------------------------------

	private openChat(chatUrl: string): void {
		this.closeLobby();
		this.closeChat();
		this.chatUrl = chatUrl;
		const url = () => {
			const u = new URL(this.chatUrl ?? chatUrl);
			const last = this.state.transcript?.lastReceived ?? 0;
			// Always, also after=0: without it the server resumes from what it
			// wrote, and frames written to a socket that died unread are lost.
			u.searchParams.set("after", String(last));
			return u.toString();
		};
		// 1000: the chat ended; 4401: the ticket no longer works; 4409: another tab.
		const socket = this.reconnecting(
			url,
			(e) => !serverEnded(e) && e.code !== CLOSE_BAD_TICKET && e.code !== CLOSE_REPLACED.code,
		);
		socket.addEventListener("message", (e) => this.receive(e.data, "chat"));
		socket.addEventListener("close", (e) => {
			if (this.chat !== socket) return;
			this.update({ connected: false, partnerTyping: false });
			if (e.code === CLOSE_BAD_TICKET) return this.ticketRefused();
			if (e.code === CLOSE_REPLACED.code) {
				this.chat = null;
				return this.endChat("replaced");
			}
			// The chat ended without our seeing chat_ended (it came while we were away).
			if (serverEnded(e)) return this.endChat("ended_while_away");
		});
		this.chat = socket;
	}

	private closeChat(): void {
		const socket = this.chat;
		this.chat = null;
		socket?.close(CLOSE_BYE.code, CLOSE_BYE.reason);
	}

	/** A refused ticket: ask the lobby for a fresh one (`ready.chat`), a few times. */
	private ticketRefused(): void {
		this.closeChat();
		if (this.ticketRetries >= MAX_TICKET_RETRIES) {
			this.endChat("ended_while_away");
			return;
		}
		this.ticketRetries++;
		this.openLobby();
	}

	private endChat(reason: ClientEndReason): void {
		this.endedTranscript = this.state.transcript;
		this.closeChat();
		this.chatUrl = null;
		this.ticketRetries = 0;
		this.receipts.reset();
		this.remove(this.session, CHAT_KEY);
		this.update({ phase: "ended", endReason: reason, partnerOnline: false, partnerTyping: false, connected: false });
		// Back to the lobby at once (presence, the next stranger without delay),
		// unless another tab took this identity over: reconnecting would take it back.
		if (reason !== "replaced") this.openLobby();
	}

	/**
	 * Writes unacked messages that are not in flight, oldest first, as far as
	 * the pacing allows; the rest go when a token is due. Resends reuse the
	 * client_msg_id, so the server delivers each message once.
	 */
	private pump(): void {
		const t = this.state.transcript;
		if (!t || this.state.phase !== "chatting" || !this.chatOpen) return;
		for (const m of unacked(t)) {
			if (this.inFlight.has(m.key)) continue;
			const wait = this.sendBudget.take(Date.now());
			if (wait > 0) {
				this.pumpLater(wait);
				return;
			}
			this.inFlight.add(m.key);
			this.sendChat({ type: "send_message", payload: { content: m.content, client_msg_id: m.key, chat_id: t.chatId } });
		}
	}

	private pumpLater(ms: number): void {
		if (this.pumpTimer !== null) return;
		this.pumpTimer = setTimeout(() => {
			this.pumpTimer = null;
			this.pump();
		}, ms);
	}

	/** Leave or report: sent now, or as soon as the chat socket is back; a receipt still owed goes first. */
	private control(event: { type: "leave_chat" | "report"; payload: object }): void {
		if (this.chatOpen && this.state.phase === "chatting") {
			this.receipts.flush();
			this.sendChat(event);
		} else this.pendingControl = event;
	}

	/** `received {up_to}`, only on a joined chat socket (after `chat_joined`); false if it could not go (it is kept). */
	private sendReceipt(upTo: number): boolean {
		if (upTo < 1 || !this.chatOpen || this.state.phase !== "chatting" || !this.state.connected) return false;
		this.sendChat({ type: "received", payload: { up_to: upTo } });
		return true;
	}

	private get chatOpen(): boolean {
		return this.chat?.readyState === ReconnectingWebSocket.OPEN;
	}

	private clearTypingTimer(): void {
		if (this.typingTimer !== null) clearTimeout(this.typingTimer);
		this.typingTimer = null;
	}

	// ---- frames in -------------------------------------------------------------------

	private receive(data: unknown, from: "lobby" | "chat"): void {
		const parsed = parseServer(data);
		if (!parsed.ok) {
			console.warn("flamingo: ignoring an invalid server frame", parsed.message);
			return;
		}
		const event = parsed.event;
		this.handle(event, from);
		for (const h of this.handlers.get(event.type) ?? []) h(event.payload as never);
	}

	private handle(event: ServerEvent, from: "lobby" | "chat"): void {
		switch (event.type) {
			case "ready": {
				const p = event.payload;
				this.write(this.storage, IDENTITY_KEY, { user_id: p.user_id, token: p.token });
				this.lobbyReady = true;
				this.update({ userId: p.user_id, presence: p.presence });
				if (p.chat) {
					this.rejoin(p.chat.chat_id, p.chat.chat_url);
					return;
				}
				// We thought we were in a chat, and the server says it is over.
				if (this.state.phase === "chatting" || this.state.phase === "joining") {
					this.endChat("ended_while_away");
					return;
				}
				this.remove(this.session, CHAT_KEY);
				// A transcript restored after a reload belongs to a chat that is over.
				this.update({ connected: true, ...(this.state.phase === "idle" ? { transcript: null } : {}) });
				if (this.wantQueue) {
					if (this.state.phase !== "waiting") this.start(this.prefs as Preferences);
					else this.joinQueue();
				}
				return;
			}
			case "queue_joined":
				this.update({ phase: "waiting", waiting: event.payload.waiting, queuedAt: Date.now(), connected: true });
				return;
			case "queue_left":
				return;
			case "match_found": {
				const p = event.payload;
				this.ticketRetries = 0;
				const transcript = emptyTranscript(p.chat_id);
				this.receipts.reset();
				this.write(this.session, CHAT_KEY, transcript);
				this.update({
					phase: "joining",
					connected: false,
					partner: { gender: p.partner.gender, sharedInterests: p.shared_interests },
					partnerOnline: false,
					partnerTyping: false,
					transcript,
					waiting: null,
					queuedAt: null,
				});
				this.wantQueue = false;
				this.openChat(p.chat_url);
				return;
			}
			case "chat_joined": {
				this.ticketRetries = 0;
				this.update({ phase: "chatting", connected: true, partnerOnline: event.payload.partner_online });
				// A new socket: whatever was in flight on the old one may be lost.
				this.inFlight.clear();
				// A receipt the old socket (or the page before a reload) could not send.
				this.receipts.flush();
				const control = this.pendingControl;
				this.pendingControl = null;
				if (control) this.sendChat(control);
				else this.pump();
				return;
			}
			case "partner_status":
				this.update({
					partnerOnline: event.payload.online,
					...(event.payload.online ? {} : { partnerTyping: false }),
				});
				return;
			case "partner_typing":
				this.update({ partnerTyping: event.payload.is_typing });
				return;
			case "message_received": {
				const t = this.state.transcript;
				if (!t || t.chatId !== event.payload.chat_id) return;
				const p = event.payload;
				const next = received(t, p.message_id, p.content, p.sent_at, p.client_msg_id);
				const shown = next.messages.length > t.messages.length;
				this.setTranscript(next);
				if (shown) this.update({ partnerTyping: false });
				// Answered even when not shown (a replay, a copy): the partner's side learns it arrived.
				this.receipts.got(p.message_id);
				return;
			}
			case "message_delivered": {
				const t = this.state.transcript;
				if (!t || t.chatId !== event.payload.chat_id) return;
				this.setTranscript(delivered(t, event.payload.up_to));
				return;
			}
			case "message_sent": {
				const t = this.state.transcript;
				const key = event.payload.client_msg_id;
				if (!t || key === undefined) return;
				this.inFlight.delete(key);
				this.setTranscript(acked(t, key, event.payload.message_id, event.payload.sent_at));
				return;
			}
			case "chat_ended":
				this.wantQueue = this.wantQueue && event.payload.reason === "you_left";
				this.endChat(event.payload.reason);
				return;
			case "error":
				this.handleError(event.payload, from);
				return;
			case "challenge":
				void this.answerChallenge(event.payload.nonce, event.payload.difficulty);
				return;
			case "pong":
				return;
		}
	}

	private handleError(e: ServerPayload<"error">, from: "lobby" | "chat"): void {
		// A refused receipt is nothing the person can act on (say, an id from before a
		// server restart): the next receipt or after=N settles it.
		if (e.request_type === "received") {
			console.warn("flamingo: a delivery receipt was refused", e.code, e.message);
			return;
		}
		this.update({ error: { code: e.code, message: e.message } });
		// A refused solution: joining again brings the challenge back.
		if (e.code === "invalid_solution" && this.wantQueue) {
			this.joinQueue();
			return;
		}
		if (e.code === "link_blocked" && from === "chat") {
			this.refuseOldestInFlight();
			return;
		}
		if (e.code !== "rate_limited") return;
		if (from === "chat" && e.request_type === "send_message") {
			// One of the in-flight messages was refused; which one the error does
			// not say, so all of them go again (idempotent) once the server is ready.
			this.inFlight.clear();
			// Start again from an empty budget, as the server's is: the first
			// token comes after 1/4 s, no sooner than the server's retry_after_ms (1/5 s).
			this.sendBudget = new TokenBucket(SEND_PACE, Date.now(), 0);
			this.pump();
			return;
		}
		if (e.request_type !== "join_queue") return;
		this.clearRetry();
		this.retryTimer = setTimeout(
			() => {
				this.retryTimer = null;
				this.joinQueue();
			},
			(e.retry_after_ms ?? 1000) + 50,
		);
	}

	/**
	 * The first-contact link gate refused a message. The error does not say
	 * which, but the server answers a socket's frames in order, so it is the
	 * oldest one still in flight: marked refused, it is never resent.
	 */
	private refuseOldestInFlight(): void {
		const t = this.state.transcript;
		const oldest = t ? unacked(t).find((m) => this.inFlight.has(m.key)) : undefined;
		if (!t || !oldest) return;
		this.inFlight.delete(oldest.key);
		this.setTranscript(refused(t, oldest.key));
	}

	/** `ready.chat`: a live chat to rejoin (after a reload, a refused ticket or a dropped lobby). */
	private rejoin(chatId: string, chatUrl: string): void {
		const saved = this.state.transcript?.chatId === chatId ? this.state.transcript : this.endedTranscript;
		const same = saved !== null && saved.chatId === chatId;
		const transcript = same ? saved : emptyTranscript(chatId);
		if (same) this.receipts.restore(transcript.lastReceived);
		else this.receipts.reset();
		this.write(this.session, CHAT_KEY, transcript);
		this.update({ phase: "joining", connected: false, transcript, endReason: null });
		this.openChat(chatUrl);
	}

	// ---- plumbing ----------------------------------------------------------------------

	private reconnecting(
		url: string | (() => string),
		shouldReconnect: (e: { code: number }) => boolean,
	): ReconnectingWebSocket {
		const min = this.options.minReconnectDelayMs ?? 500;
		let attempts = 0;
		// partysocket's backoff grows without jitter; a random extra delay per
		// reconnect keeps a server restart from being hit by everyone at once.
		const provider = async () => {
			if (attempts++ > 0) await new Promise((r) => setTimeout(r, Math.random() * min));
			return typeof url === "function" ? url() : url;
		};
		const socket = new ReconnectingWebSocket(provider, [], {
			WebSocket: this.options.WebSocket ?? globalThis.WebSocket,
			minReconnectionDelay: min,
			maxReconnectionDelay: this.options.maxReconnectDelayMs ?? 10_000,
			reconnectionDelayGrowFactor: 1.5,
			connectionTimeout: 8_000,
			maxEnqueuedMessages: 0,
			shouldReconnectOnClose: shouldReconnect,
		});
		// Any frame, and a new connection, answer the outstanding ping.
		const heard = () => this.pingSentAt.delete(socket);
		socket.addEventListener("open", heard);
		socket.addEventListener("message", heard);
		return socket;
	}

	private sendLobby(event: { type: string; payload: object }): void {
		if (this.lobby?.readyState === ReconnectingWebSocket.OPEN && this.lobbyReady)
			this.lobby.send(JSON.stringify(event));
	}

	private sendChat(event: { type: string; payload: object }): void {
		if (this.chat?.readyState === ReconnectingWebSocket.OPEN) this.chat.send(JSON.stringify(event));
	}

	private startPings(): void {
		if (this.pingTimer !== null) return;
		this.pingTimer = setInterval(() => {
			for (const socket of [this.lobby, this.chat]) {
				if (socket?.readyState === ReconnectingWebSocket.OPEN && !this.pingSentAt.has(socket)) this.ping(socket);
			}
		}, this.options.pingIntervalMs ?? 25_000);
	}

	/** Sends the keep-alive ping, and reconnects the socket if nothing comes back in time. */
	private ping(socket: ReconnectingWebSocket): void {
		const sentAt = Date.now();
		this.pingSentAt.set(socket, sentAt);
		socket.send(PING_FRAME);
		const timer = setTimeout(() => {
			this.pongTimers.delete(timer);
			const current = socket === this.lobby || socket === this.chat;
			if (!current || this.pingSentAt.get(socket) !== sentAt) return;
			this.pingSentAt.delete(socket);
			// partysocket closes it on our side (the close handlers see 4000) and connects again.
			socket.reconnect(CLOSE_NO_PONG.code, CLOSE_NO_PONG.reason);
		}, this.options.pongTimeoutMs ?? 10_000);
		this.pongTimers.add(timer);
	}

	private clearRetry(): void {
		if (this.retryTimer !== null) clearTimeout(this.retryTimer);
		this.retryTimer = null;
	}

	private setTranscript(t: Transcript): void {
		if (t === this.state.transcript) return; // nothing changed (a repeated ack or receipt)
		this.write(this.session, CHAT_KEY, t);
		this.update({ transcript: t });
	}

	private read(store: KeyValueStorage | null, key: string): unknown {
		try {
			const text = store?.getItem(key);
			return text ? JSON.parse(text) : null;
		} catch {
			return null;
		}
	}

	private write(store: KeyValueStorage | null, key: string, value: unknown): void {
		try {
			store?.setItem(key, JSON.stringify(value));
		} catch {
			// Storage full or blocked: the client still works, it just cannot resume.
		}
	}

	private remove(store: KeyValueStorage | null, key: string): void {
		try {
			store?.removeItem(key);
		} catch {
			// as above
		}
	}
}
