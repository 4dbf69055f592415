// FlamingoClient: the protocol of docs/PROTOCOL.md from a client's side, for
// the browser app and any other JavaScript client.
//
// It holds one socket at a time: the lobby until matched, then the chat socket,
// then the lobby again. Both reconnect by themselves (reconnecting.ts) and are
// kept alive by heartbeat.ts. With `singleSocket` it holds `/ws/single`
// instead, the one socket the Worker moves between lobby and chat: a match or
// a chat's end then opens and closes nothing here, and `init` carries the
// `after=N` the chat socket's URL would. The identity (user_id + token) is kept in
// localStorage so a returning visitor resumes; the live chat's transcript and
// unacked messages in sessionStorage so a reload rejoins with `after=N` and the
// outbox (outbox.ts) resends what was not acked, by `client_msg_id`; the
// preferences of the search beside them (search.ts), so that "next stranger"
// still knows them after a reload (or, given by the app with setPreferences,
// in a tab that took a chat over from another one). The snapshot says all a
// page needs to draw: also whether a search is under way (`searching`, from
// next() on) and whether another tab took over (`replaced`).
//
// Delivery receipts: every `message_received` is answered within 100 ms by one
// `received {up_to}` (a burst shares one), so the partner's messages are
// acked at once and show as delivered there; a copy of a message already shown
// (same `client_msg_id`, a new id after a server restart) is dropped but still
// counted. Our own messages go sending → sent (`message_sent`) → delivered
// (`message_delivered`).
import ReconnectingWebSocket from "partysocket/ws";
import { solve } from "../domain/safety/pow";
import { CLOSE_BAD_TICKET, CLOSE_BYE, CLOSE_REPLACED, serverEnded } from "../protocol/close-codes";
import { parseServer } from "../protocol/codec";
import {
	clientChatPayloads,
	codePoints,
	type EndReason,
	type Gender,
	MAX_CONTENT_CHARS,
	type Presence,
	REPORT_AFTER_END_MS,
	type ServerEventType,
	type ServerPayload,
} from "../protocol/schemas";
import { wsOrigin } from "../protocol/urls";
import { Heartbeat } from "./heartbeat";
import { Outbox } from "./outbox";
import type { ChatFrame, InitPayload, LobbyFrame } from "./outgoing";
import { Receipts } from "./receipts";
import { reconnecting } from "./reconnecting";
import { type Preferences, Search } from "./search";
import {
	acked,
	addOutgoing,
	delivered,
	emptyTranscript,
	isTranscript,
	received,
	refused,
	type Transcript,
} from "./transcript";
import { TypingNotice } from "./typing";
import { type KeyValueStorage, readJson, removeKey, webStorage, writeJson } from "./web-storage";

export type { Preferences } from "./search";
export type { ChatMessage, MessageState, Transcript } from "./transcript";
export type { KeyValueStorage } from "./web-storage";

/**
 * Where the client is: idle (no search: the app's start screen, or its age
 * gate before it), waiting (in the queue), joining (matched or rejoining, the
 * chat socket not joined yet), chatting, ended.
 */
export type Phase = "idle" | "waiting" | "joining" | "chatting" | "ended";

/**
 * Why a chat ended: the server's reasons, plus two only the client can tell:
 * the chat was over when we came back, or another tab took over this identity.
 */
export type ClientEndReason = EndReason | "ended_while_away" | "replaced";

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
	/** From `match_found`; `language` only when the partner gave one. */
	partner: { gender: Gender; sharedInterests: string[]; language?: string } | null;
	partnerOnline: boolean;
	partnerTyping: boolean;
	transcript: Transcript | null;
	endReason: ClientEndReason | null;
	/** The last error the server sent, or a local one (`message_too_long`, `replaced`). */
	error: { code: string; message: string } | null;
	/** A proof of work being solved before the next join: its difficulty and the tries so far. */
	challenge: { difficulty: number; tries: number } | null;
	/**
	 * A search is under way: from start() or next() (also while the chat that
	 * next() leaves is ending) until a match, cancel(), leave(), report(),
	 * back(), close(), another tab's takeover, or a chat ending other than by
	 * the `you_left` of next().
	 */
	searching: boolean;
	/**
	 * Another tab (or connection) of this identity took over: a socket was
	 * closed 4409, and the client connects again only when told to, by
	 * connect(), start() or next().
	 */
	replaced: boolean;
	/**
	 * The chat that ended last, which the lobby's `report` still takes for 5
	 * minutes after `endedAt` (local clock; reportEnded()): `reported` once
	 * the server answered `reported` (or the chat ended by our report). Null
	 * before any chat ended, after a new match, and after a chat another tab
	 * took over (it may still live there).
	 */
	endedChat: { chatId: string; endedAt: number; reported: boolean } | null;
}

export interface ClientOptions {
	/** The server's http(s) origin, e.g. `location.origin`. */
	baseUrl: string;
	/** Identity store (default: localStorage when available). */
	storage?: KeyValueStorage | null;
	/** Where the live chat and the search's preferences survive a reload (default: sessionStorage when available). */
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
	/**
	 * Speak the whole protocol over one socket, `/ws/single` (PROTOCOL.md
	 * "One socket for everything"), for runtimes or proxies that allow one
	 * WebSocket per client; the default, two sockets, lets the server
	 * hibernate and costs it less.
	 */
	singleSocket?: boolean;
}

const IDENTITY_KEY = "flamingo.identity";
const CHAT_KEY = "flamingo.chat";
/** How often a 4401 on the chat socket is retried through a fresh `ready.chat` ticket. */
const MAX_TICKET_RETRIES = 2;
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
	searching: false,
	replaced: false,
	endedChat: null,
});

function randomKey(): string {
	const bytes = crypto.getRandomValues(new Uint8Array(12));
	return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

type Source = "lobby" | "chat";

export class FlamingoClient {
	private state: Snapshot = initialSnapshot();
	private readonly listeners = new Set<Listener>();
	private readonly handlers = new Map<string, Set<(payload: never) => void>>();
	private readonly wsBase: string;
	private readonly storage: KeyValueStorage | null;
	private readonly session: KeyValueStorage | null;
	private readonly search: Search;
	private readonly heartbeat: Heartbeat;
	private readonly outbox: Outbox;
	/** The `received` frames owed for the partner's messages. */
	private readonly receipts: Receipts;
	/** The lobby socket, or with `singleSocket` the one socket for everything. */
	private lobby: ReconnectingWebSocket | null = null;
	private readonly single: boolean;
	/** The lobby answered `init` with `ready`: only then may it be written to. */
	private lobbyReady = false;
	private chat: ReconnectingWebSocket | null = null;
	private chatUrl: string | null = null;
	private ticketRetries = 0;
	private retryTimer: ReturnType<typeof setTimeout> | null = null;
	private readonly typing: TypingNotice;
	/**
	 * The challenge being solved, if any: a new object per attempt, so an
	 * attempt overtaken by cancel() and a new start() (the server repeats the
	 * same nonce) knows it is stale and leaves the new one alone.
	 */
	private solving: { nonce: string } | null = null;
	/** A report of the ended chat asked for before the lobby was ready: sent on `ready`. */
	private pendingLobbyReport: LobbyFrame | null = null;
	/** Leave or report asked for while the chat socket was reconnecting: sent once it is back. */
	private pendingControl: ChatFrame | null = null;
	/**
	 * The transcript of the chat that ended here last. After `replaced` the
	 * user may still be in that chat on the server (the newer connection was
	 * this tab's own, abandoned attempt), and `ready.chat` brings it back:
	 * its messages, and what it drops as copies by `client_msg_id`, must
	 * come back with it.
	 */
	private endedTranscript: Transcript | null = null;

	constructor(private readonly options: ClientOptions) {
		this.wsBase = wsOrigin(new URL(options.baseUrl));
		this.single = options.singleSocket ?? false;
		this.storage = options.storage === undefined ? webStorage("localStorage") : options.storage;
		this.session = options.sessionStorage === undefined ? webStorage("sessionStorage") : options.sessionStorage;
		this.search = new Search(this.session);
		this.heartbeat = new Heartbeat({
			intervalMs: options.pingIntervalMs ?? 25_000,
			pongTimeoutMs: options.pongTimeoutMs ?? 10_000,
			sockets: () => [this.lobby, this.chat],
		});
		this.outbox = new Outbox({
			writable: () => (this.state.phase === "chatting" && this.chatOpen ? this.state.transcript : null),
			write: (m, chatId) =>
				this.sendChat({
					type: "send_message",
					payload: { content: m.content, client_msg_id: m.key, chat_id: chatId },
				}),
		});
		this.typing = new TypingNotice(
			() => this.state.phase === "chatting",
			(isTyping) => this.sendChat({ type: "typing", payload: { is_typing: isTyping } }),
		);
		this.receipts = new Receipts((upTo) => this.sendReceipt(upTo), options.receiptDelayMs ?? RECEIPT_DELAY_MS);
		const saved = readJson(this.session, CHAT_KEY);
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

	/** Every snapshot says whether the search is wanted (search.ts keeps that). */
	private update(patch: Partial<Snapshot>): void {
		this.state = { ...this.state, ...patch, searching: this.search.wanted };
		for (const listener of this.listeners) listener(this.state);
	}

	/** After a change of the search that no other update follows: a snapshot if `searching` changed. */
	private searchChanged(): void {
		if (this.state.searching !== this.search.wanted) this.update({});
	}

	// ---- actions -----------------------------------------------------------------

	/**
	 * Opens the lobby (resuming the stored identity, and a live chat if there
	 * is one). After another tab's takeover (`replaced`), this takes it back.
	 */
	connect(): void {
		if (this.state.replaced) this.update({ replaced: false });
		this.openLobby();
		this.heartbeat.start();
	}

	/** Looks for a stranger. */
	start(prefs: Preferences): void {
		this.search.begin(prefs);
		this.update({
			phase: "waiting",
			endReason: null,
			error: null,
			waiting: null,
			queuedAt: null,
			withInterests: (prefs.interests?.length ?? 0) > 0,
			partner: null,
			transcript: null,
			replaced: false,
		});
		this.connect();
		if (this.lobbyReady) this.joinQueue();
	}

	/**
	 * The preferences the next search uses (next()), without searching now: an
	 * app passes those of its start screen, so that a tab that took a chat over
	 * from another one (and so never called start()) knows them. Kept in
	 * sessionStorage like those of start(); a search under way keeps its own.
	 */
	setPreferences(prefs: Preferences): void {
		this.search.prefer(prefs);
	}

	/** Stops looking. */
	cancel(): void {
		this.search.stop();
		this.clearRetry();
		// A join answered with a challenge did not queue us: nothing to leave (no `not_queued` error).
		const challenged = this.solving !== null;
		this.solving = null;
		if (this.state.challenge) this.update({ challenge: null });
		if (this.state.phase === "waiting") {
			if (!challenged) this.sendLobby({ type: "leave_queue", payload: {} });
			this.update({ phase: "idle", waiting: null, queuedAt: null });
		}
		this.searchChanged();
	}

	/** Sends a message; returns its `client_msg_id`, or null if it cannot be sent. */
	send(text: string): string | null {
		const t = this.state.transcript;
		const content = text.trim();
		if (!t || !this.inChat || content.length === 0) return null;
		if (codePoints(content) > MAX_CONTENT_CHARS) {
			this.update({
				error: { code: "message_too_long", message: `Messages are at most ${MAX_CONTENT_CHARS} characters.` },
			});
			return null;
		}
		const key = randomKey();
		this.setTranscript(addOutgoing(t, key, content));
		this.typing.messageSent();
		this.outbox.pump();
		return key;
	}

	/** Tells the partner whether we are typing: only changes are sent; it stops by itself after 3 s. */
	setTyping(isTyping: boolean): void {
		this.typing.set(isTyping);
	}

	/** Ends the chat (or stops waiting). */
	leave(): void {
		if (this.inChat) {
			this.search.stop();
			this.searchChanged();
			this.control({ type: "leave_chat", payload: {} });
		} else this.cancel();
	}

	/** Reports the partner and ends the chat; the pair is never matched again. */
	report(reason?: string): void {
		if (!this.inChat) return;
		this.search.stop();
		this.searchChanged();
		this.control({ type: "report", payload: reason ? { reason } : {} });
	}

	/**
	 * Reports the partner of the chat that ended last (`snapshot.endedChat`),
	 * on the lobby: allowed for 5 minutes after its end. Sent at once, or right
	 * after `ready` if the lobby is still opening; `reported` sets
	 * `endedChat.reported`. Returns whether it was sent or queued.
	 */
	reportEnded(reason?: string): boolean {
		const ended = this.state.endedChat;
		if (!ended || ended.reported || Date.now() - ended.endedAt >= REPORT_AFTER_END_MS) return false;
		const frame: LobbyFrame = { type: "report", payload: { chat_id: ended.chatId, ...(reason ? { reason } : {}) } };
		if (this.lobbyReady) this.sendLobby(frame);
		else {
			this.pendingLobbyReport = frame;
			this.openLobby();
		}
		return true;
	}

	/**
	 * Next stranger: leaves the current chat if any, then looks again with the
	 * preferences of the last start() or setPreferences(). `searching` is true
	 * from here on, also while the chat being left ends.
	 */
	next(): void {
		const prefs = this.search.preferences;
		if (!prefs) return;
		if (this.inChat) {
			this.search.again();
			this.searchChanged();
			this.control({ type: "leave_chat", payload: {} });
			return;
		}
		this.start(prefs);
	}

	/** From the ended screen back to the start screen. */
	back(): void {
		this.search.stop();
		this.update({ phase: "idle", endReason: null, partner: null, transcript: null, error: null });
	}

	/** Closes every socket; the client can be started again. */
	close(): void {
		this.search.stop();
		this.clearRetry();
		this.closeLobby();
		this.closeChat();
		this.heartbeat.stop();
		this.typing.stopTimer();
		// A receipt not sent yet goes after the next chat_joined, if the client is started again.
		this.receipts.hold();
		this.update({ connected: false });
	}

	// ---- the lobby socket ----------------------------------------------------------

	private openLobby(): void {
		if (this.lobby || this.chat) return;
		this.lobbyReady = false;
		const path = this.single ? "/ws/single" : "/ws";
		const socket = this.socket(`${this.wsBase}${path}`, (e) => !serverEnded(e) && e.code !== CLOSE_REPLACED.code);
		socket.addEventListener("open", () => {
			const id = readJson(this.storage, IDENTITY_KEY) as { user_id?: unknown; token?: unknown } | null;
			const payload: InitPayload =
				id && typeof id.user_id === "string" && typeof id.token === "string"
					? { user_id: id.user_id, token: id.token }
					: {};
			// One socket: the chat we think we are in resumes after what we have (always, also after=0, as on /ws/chat);
			// any other chat from its start. `ready.chat` may bring one we never heard of (matched while this
			// socket went dark): without `after` the server would skip what it wrote to the dead socket.
			const t = this.state.transcript;
			if (this.single) payload.after = t && this.state.phase !== "ended" ? t.lastReceived : 0;
			socket.send(JSON.stringify({ type: "init", payload }));
		});
		socket.addEventListener("message", (e) => this.receive(e.data, this.single && this.inChat ? "chat" : "lobby"));
		socket.addEventListener("close", (e) => {
			if (this.lobby !== socket) return;
			this.lobbyReady = false;
			if (this.single) {
				this.singleClosed(socket, e.code);
				return;
			}
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
			if (e.code === CLOSE_REPLACED.code) this.replacedInLobby(socket);
		});
		this.lobby = socket;
	}

	/** Another tab took the lobby over: no reconnecting, which would take it back. */
	private replacedInLobby(socket: ReconnectingWebSocket): void {
		this.lobby = null;
		socket.close();
		this.search.stop();
		this.update({
			phase: "idle",
			connected: false,
			error: { code: "replaced", message: "Flamingo Chat was opened in another tab." },
			replaced: true,
		});
	}

	/**
	 * The one socket closed: it reconnects by itself and `init` (with `after`)
	 * brings back the lobby or the live chat, but after a takeover; a chat whose
	 * ticket keeps being refused (4401 passed on from its object) is given up.
	 */
	private singleClosed(socket: ReconnectingWebSocket, code: number): void {
		this.update({ connected: false, partnerTyping: false });
		if (code === CLOSE_REPLACED.code && !this.inChat) this.replacedInLobby(socket);
		else if (code === CLOSE_REPLACED.code) {
			this.lobby = null;
			socket.close();
			this.endChat("replaced");
		} else if (code === CLOSE_BAD_TICKET && this.inChat && ++this.ticketRetries > MAX_TICKET_RETRIES) {
			this.endChat("ended_while_away");
		}
	}

	private closeLobby(): void {
		const socket = this.lobby;
		this.lobby = null;
		this.lobbyReady = false;
		socket?.close(CLOSE_BYE.code, CLOSE_BYE.reason);
	}

	private joinQueue(): void {
		const payload = this.search.joinPayload();
		if (payload) this.sendLobby({ type: "join_queue", payload });
	}

	/** The server wants proof of work before this join: solve, answer, join again. */
	private async answerChallenge(nonce: string, difficulty: number): Promise<void> {
		if (this.solving?.nonce === nonce || !this.search.wanted) return;
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
		if (!solution || !this.search.wanted) return;
		this.sendLobby({ type: "solve", payload: { nonce, solution } });
		this.joinQueue();
	}

	// ---- the chat socket -----------------------------------------------------------

	private openChat(chatUrl: string): void {
		// One socket: the Worker has moved it into the chat already.
		if (this.single) return;
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
		const socket = this.socket(
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
		// Only a chat we left (next stranger) is followed by another search; not
		// one another tab took over, nor one that ended while we were away.
		this.search.chatEnded(reason === "you_left");
		this.endedTranscript = this.state.transcript;
		this.closeChat();
		this.chatUrl = null;
		this.ticketRetries = 0;
		this.receipts.reset();
		removeKey(this.session, CHAT_KEY);
		const chatId = this.state.transcript?.chatId;
		this.update({
			phase: "ended",
			endReason: reason,
			// Reportable from the lobby for 5 minutes; not a chat that may live on in another tab.
			endedChat:
				chatId && reason !== "replaced" ? { chatId, endedAt: Date.now(), reported: reason === "you_reported" } : null,
			partnerOnline: false,
			partnerTyping: false,
			// One socket stays open and initialised: the Worker has moved it back to the lobby.
			connected: this.single && this.lobbyReady && this.lobby?.readyState === ReconnectingWebSocket.OPEN,
			...(reason === "replaced" ? { replaced: true } : {}),
		});
		// Back to the lobby at once (presence, the next stranger without delay),
		// unless another tab took this identity over: reconnecting would take it back.
		if (reason === "replaced") return;
		this.openLobby();
		// Next stranger: the new search starts now (it joins once the lobby is ready).
		const prefs = this.search.preferences;
		if (this.search.wanted && prefs) this.start(prefs);
	}

	/** Leave or report: sent now, or as soon as the chat socket is back; a receipt still owed goes first. */
	private control(frame: ChatFrame): void {
		if (this.chatOpen && this.state.phase === "chatting") {
			this.receipts.flush();
			this.sendChat(frame);
		} else this.pendingControl = frame;
	}

	/** `received {up_to}`, only on a joined chat socket (after `chat_joined`); false if it could not go (it is kept). */
	private sendReceipt(upTo: number): boolean {
		if (upTo < 1 || !this.chatOpen || this.state.phase !== "chatting" || !this.state.connected) return false;
		this.sendChat({ type: "received", payload: { up_to: upTo } });
		return true;
	}

	private get inChat(): boolean {
		return this.state.phase === "chatting" || this.state.phase === "joining";
	}

	/** The socket chat frames go on: the chat socket, or with `singleSocket` the one socket while in a chat. */
	private get chatSocket(): ReconnectingWebSocket | null {
		return this.single ? (this.inChat ? this.lobby : null) : this.chat;
	}

	private get chatOpen(): boolean {
		// One socket reopened is in the lobby until `chat_joined` (which sets connected) says the Worker moved it.
		if (this.single && !this.state.connected) return false;
		return this.chatSocket?.readyState === ReconnectingWebSocket.OPEN;
	}

	// ---- frames in: one method per server event ------------------------------------------

	private readonly events: { [T in ServerEventType]: (payload: ServerPayload<T>, from: Source) => void } = {
		ready: (p) => this.onReady(p),
		queue_joined: (p) => this.onQueueJoined(p),
		// Answers that change nothing here; on() still passes them on.
		queue_left: () => {},
		reported: (p) => this.onReported(p),
		pong: () => {},
		match_found: (p) => this.onMatchFound(p),
		chat_joined: (p) => this.onChatJoined(p),
		partner_status: (p) => this.onPartnerStatus(p),
		partner_typing: (p) => this.update({ partnerTyping: p.is_typing }),
		message_received: (p) => this.onMessageReceived(p),
		message_delivered: (p) => this.onMessageDelivered(p),
		message_sent: (p) => this.onMessageSent(p),
		chat_ended: (p) => this.onChatEnded(p),
		error: (p, from) => this.onError(p, from),
		challenge: (p) => void this.answerChallenge(p.nonce, p.difficulty),
	};

	private receive(data: unknown, from: Source): void {
		const parsed = parseServer(data);
		if (!parsed.ok) {
			console.warn("flamingo: ignoring an invalid server frame", parsed.message);
			return;
		}
		const event = parsed.event;
		(this.events[event.type] as (payload: typeof event.payload, from: Source) => void)(event.payload, from);
		for (const h of this.handlers.get(event.type) ?? []) h(event.payload as never);
	}

	private onReady(p: ServerPayload<"ready">): void {
		writeJson(this.storage, IDENTITY_KEY, { user_id: p.user_id, token: p.token });
		this.lobbyReady = true;
		this.update({ userId: p.user_id, presence: p.presence });
		const report = this.pendingLobbyReport;
		this.pendingLobbyReport = null;
		if (report) this.sendLobby(report);
		if (p.chat) {
			this.rejoin(p.chat.chat_id, p.chat.chat_url);
			return;
		}
		// We thought we were in a chat, and the server says it is over.
		if (this.inChat) {
			this.endChat("ended_while_away");
			return;
		}
		removeKey(this.session, CHAT_KEY);
		// A transcript restored after a reload belongs to a chat that is over.
		this.update({ connected: true, ...(this.state.phase === "idle" ? { transcript: null } : {}) });
		if (!this.search.wanted) return;
		const prefs = this.search.preferences;
		if (this.state.phase !== "waiting" && prefs) this.start(prefs);
		else this.joinQueue();
	}

	private onReported(p: ServerPayload<"reported">): void {
		const ended = this.state.endedChat;
		if (ended?.chatId === p.chat_id && !ended.reported) this.update({ endedChat: { ...ended, reported: true } });
	}

	private onQueueJoined(p: ServerPayload<"queue_joined">): void {
		this.update({ phase: "waiting", waiting: p.waiting, queuedAt: Date.now(), connected: true });
	}

	private onMatchFound(p: ServerPayload<"match_found">): void {
		this.search.stop();
		this.ticketRetries = 0;
		const transcript = emptyTranscript(p.chat_id);
		this.receipts.reset();
		writeJson(this.session, CHAT_KEY, transcript);
		this.update({
			phase: "joining",
			connected: false,
			partner: {
				gender: p.partner.gender,
				sharedInterests: p.shared_interests,
				...(p.partner.language ? { language: p.partner.language } : {}),
			},
			partnerOnline: false,
			partnerTyping: false,
			transcript,
			waiting: null,
			queuedAt: null,
			// The server takes reports of the last ended chat only: that is now this one, once it ends.
			endedChat: null,
		});
		this.pendingLobbyReport = null;
		this.openChat(p.chat_url);
	}

	private onChatJoined(p: ServerPayload<"chat_joined">): void {
		this.ticketRetries = 0;
		this.update({ phase: "chatting", connected: true, partnerOnline: p.partner_online });
		this.outbox.newSocket();
		// A receipt the old socket (or the page before a reload) could not send.
		this.receipts.flush();
		const control = this.pendingControl;
		this.pendingControl = null;
		if (control) this.sendChat(control);
		else this.outbox.pump();
	}

	private onPartnerStatus(p: ServerPayload<"partner_status">): void {
		this.update({ partnerOnline: p.online, ...(p.online ? {} : { partnerTyping: false }) });
	}

	private onMessageReceived(p: ServerPayload<"message_received">): void {
		const t = this.state.transcript;
		if (!t || t.chatId !== p.chat_id) return;
		const next = received(t, p.message_id, p.content, p.sent_at, p.client_msg_id);
		const shown = next.messages.length > t.messages.length;
		this.setTranscript(next);
		if (shown) this.update({ partnerTyping: false });
		// Answered even when not shown (a replay, a copy): the partner's side learns it arrived.
		this.receipts.got(p.message_id);
	}

	private onMessageDelivered(p: ServerPayload<"message_delivered">): void {
		const t = this.state.transcript;
		if (!t || t.chatId !== p.chat_id) return;
		this.setTranscript(delivered(t, p.up_to));
	}

	private onMessageSent(p: ServerPayload<"message_sent">): void {
		const t = this.state.transcript;
		const key = p.client_msg_id;
		if (!t || key === undefined) return;
		this.outbox.acked(key);
		this.setTranscript(acked(t, key, p.message_id, p.sent_at));
	}

	private onChatEnded(p: ServerPayload<"chat_ended">): void {
		this.endChat(p.reason);
	}

	private onError(e: ServerPayload<"error">, from: Source): void {
		// A refused receipt is nothing the person can act on (say, an id from before a
		// server restart): the next receipt or after=N settles it.
		if (e.request_type === "received") {
			console.warn("flamingo: a delivery receipt was refused", e.code, e.message);
			return;
		}
		// One socket: a chat frame that crossed `chat_ended` reached the lobby, which knows no such event.
		if (
			this.single &&
			e.code === "unknown_type" &&
			!this.inChat &&
			e.request_type !== undefined &&
			Object.hasOwn(clientChatPayloads, e.request_type)
		) {
			console.warn("flamingo: a chat frame came after the chat's end", e.request_type);
			return;
		}
		this.update({ error: { code: e.code, message: e.message } });
		// A refused solution: joining again brings the challenge back.
		if (e.code === "invalid_solution" && this.search.wanted) this.joinQueue();
		else if (e.code === "link_blocked" && from === "chat") this.linkBlocked();
		else if (e.code === "rate_limited" && from === "chat" && e.request_type === "send_message")
			this.outbox.rateLimited();
		else if (e.code === "rate_limited" && e.request_type === "join_queue")
			this.retryJoinAfter(e.retry_after_ms ?? 1000);
	}

	/** A join refused as too fast goes again once the server allows it. */
	private retryJoinAfter(ms: number): void {
		this.clearRetry();
		this.retryTimer = setTimeout(() => {
			this.retryTimer = null;
			this.joinQueue();
		}, ms + 50);
	}

	/** The link gate refused the oldest message in flight: marked refused, it is never resent. */
	private linkBlocked(): void {
		const t = this.state.transcript;
		const key = t ? this.outbox.takeOldestInFlight(t) : undefined;
		if (t && key !== undefined) this.setTranscript(refused(t, key));
	}

	/** `ready.chat`: a live chat to rejoin (after a reload, a refused ticket or a dropped lobby). */
	private rejoin(chatId: string, chatUrl: string): void {
		const saved = this.state.transcript?.chatId === chatId ? this.state.transcript : this.endedTranscript;
		const same = saved !== null && saved.chatId === chatId;
		const transcript = same ? saved : emptyTranscript(chatId);
		if (same) this.receipts.restore(transcript.lastReceived);
		else this.receipts.reset();
		writeJson(this.session, CHAT_KEY, transcript);
		// A chat that lives after all is reported on its own socket, not from the lobby.
		const endedChat = this.state.endedChat?.chatId === chatId ? null : this.state.endedChat;
		this.update({ phase: "joining", connected: false, transcript, endReason: null, endedChat });
		this.openChat(chatUrl);
	}

	// ---- plumbing ----------------------------------------------------------------------

	private socket(url: string | (() => string), shouldReconnect: (e: { code: number }) => boolean) {
		const socket = reconnecting(url, shouldReconnect, {
			WebSocket: this.options.WebSocket ?? globalThis.WebSocket,
			minDelayMs: this.options.minReconnectDelayMs ?? 500,
			maxDelayMs: this.options.maxReconnectDelayMs ?? 10_000,
		});
		this.heartbeat.watch(socket);
		return socket;
	}

	private sendLobby(frame: LobbyFrame): void {
		if (this.lobby?.readyState === ReconnectingWebSocket.OPEN && this.lobbyReady)
			this.lobby.send(JSON.stringify(frame));
	}

	private sendChat(frame: ChatFrame): void {
		if (this.chatOpen) this.chatSocket?.send(JSON.stringify(frame));
	}

	private clearRetry(): void {
		if (this.retryTimer !== null) clearTimeout(this.retryTimer);
		this.retryTimer = null;
	}

	private setTranscript(t: Transcript): void {
		if (t === this.state.transcript) return; // nothing changed (a repeated ack or receipt)
		writeJson(this.session, CHAT_KEY, t);
		this.update({ transcript: t });
	}
}
