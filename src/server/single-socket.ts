// The decisions of `/ws/single` (PROTOCOL.md "One socket for everything"),
// apart from the sockets that carry them (single-bridge.ts): which upstream a
// client frame goes to or what the Worker answers in its place, and what an
// upstream frame means for the bridge (forward it, swallow it, move to the
// chat or back to the lobby). Pure: frames in, decisions out, so every rule is
// tested directly (test/unit/single-socket.test.ts) and the plumbing stays dumb.
import * as v from "valibot";
import { buildError, type ProtocolError, parseLobby, parseServer } from "../protocol/codec";
import {
	type ClientEventInput,
	clientChatPayloads,
	clientLobbyPayloads,
	MAX_FRAME_BYTES,
	type ServerPayload,
	singleInitPayload,
} from "../protocol/schemas";

/** The ChatRoom reads `after` as at most 15 digits; any id above it means "nothing missed" all the same. */
const MAX_AFTER_PARAM = 999_999_999_999_999;

type LobbyType = keyof typeof clientLobbyPayloads;
type ChatType = keyof typeof clientChatPayloads;

// Derived from the schemas, so that a new event lands on the right side by itself.
const LOBBY_ONLY: ReadonlySet<string> = new Set(
	(Object.keys(clientLobbyPayloads) as LobbyType[]).filter((t) => !Object.hasOwn(clientChatPayloads, t)),
);
const CHAT_ONLY: ReadonlySet<string> = new Set(
	(Object.keys(clientChatPayloads) as ChatType[]).filter((t) => !Object.hasOwn(clientLobbyPayloads, t)),
);

export type Phase = "lobby" | "chat";

/** What to do with one frame of the client. */
export type ClientStep =
	/** Send it to the current upstream. `awaitsInit`: hold the client's next frames until the lobby answered this `init`. */
	| { kind: "forward"; awaitsInit?: true }
	/** The current upstream cannot take it: the Worker answers with `frame` (an `error`). */
	| { kind: "answer"; frame: string; requestType: string };

/** Where the bridge goes next: the chat's object, or a fresh lobby socket. */
export type Move =
	| { to: "chat"; chatId: string; ticket: string; after?: number }
	/** `init`: the frame the bridge sends first on the new lobby socket, so the client stays initialised. */
	| { to: "lobby"; init: string | null };

/** What to do with one frame of the current upstream. */
export interface UpstreamStep {
	forward: boolean;
	/** The lobby answered an `init`: the client's held frames may go on. */
	answeredInit?: true;
	move?: Move;
}

const encoder = new TextEncoder();

/**
 * The `type` and `payload` of a client frame, if it is a readable JSON object
 * with a string type; null for anything the upstream must judge itself
 * (binary, too big, not JSON), which it does with the protocol's own errors.
 */
export function peekClient(frame: string | ArrayBuffer): { type: string; payload: unknown } | null {
	if (typeof frame !== "string") return null;
	// The same bound as the codec's envelope: a bigger frame is `bad_frame` whatever its type.
	if (frame.length > MAX_FRAME_BYTES) return null;
	if (frame.length * 3 > MAX_FRAME_BYTES && encoder.encode(frame).length > MAX_FRAME_BYTES) return null;
	let value: unknown;
	try {
		value = JSON.parse(frame);
	} catch {
		return null;
	}
	if (typeof value !== "object" || value === null || Array.isArray(value)) return null;
	const record = value as Record<string, unknown>;
	const type = Object.hasOwn(record, "type") ? record.type : undefined;
	if (typeof type !== "string") return null;
	return { type, payload: Object.hasOwn(record, "payload") ? record.payload : undefined };
}

// The server's frames all come from codec.build, which writes `type` first:
// reading it with a prefix match spares a JSON parse of every relayed message.
const SERVER_TYPE = /^\{"type":"([a-z_]+)"/;

/** The `type` of a frame the server built, or null. */
export function serverType(frame: string | ArrayBuffer): string | null {
	if (typeof frame !== "string") return null;
	return SERVER_TYPE.exec(frame)?.[1] ?? null;
}

/** The `init` the bridge sends for a user on a fresh lobby socket. */
export function initFrame(identity: { user_id: string; token: string }): string {
	return JSON.stringify({ type: "init", payload: identity } satisfies ClientEventInput);
}

function answer(error: Omit<ProtocolError, "ok">): ClientStep {
	return { kind: "answer", frame: buildError(error), requestType: error.requestType ?? "" };
}

/** The `after` of an `init` (undefined when absent), or the `invalid_payload` message to answer. */
function initAfter(payload: unknown): { ok: true; after: number | undefined } | { ok: false; message: string } {
	const result = v.safeParse(singleInitPayload, payload ?? {});
	if (result.success) return { ok: true, after: result.output.after };
	const issue = result.issues[0];
	const path = issue?.path?.map((p) => String(p.key)).join(".");
	const what = issue?.kind === "schema" ? `expected ${issue.expected ?? "a different type"}` : (issue?.message ?? "");
	return { ok: false, message: path ? `${path}: ${what}`.slice(0, 200) : "invalid payload" };
}

/** The chat URL's query as the ChatRoom reads it: the ticket, and `after` when the client gave one. */
export function chatQuery(ticket: string, after: number | undefined): string {
	const query = new URLSearchParams({ ticket });
	if (after !== undefined) query.set("after", String(Math.min(after, MAX_AFTER_PARAM)));
	return query.toString();
}

/**
 * A close code the bridge may send on for one it received: 1005 ("no status")
 * and 1006/1015 (abnormal, TLS) are never sent in a close frame. A peer that
 * closed without a status ended normally; one that vanished is an internal
 * failure from the other side's point of view.
 */
export function sendableClose(code: number, reason: string): { code: number; reason: string } {
	if (code === 1005) return { code: 1000, reason };
	if (
		code === 1000 ||
		(code >= 1001 && code <= 1003) ||
		(code >= 1007 && code <= 1014) ||
		(code >= 3000 && code <= 4999)
	) {
		return { code, reason };
	}
	return { code: 1011, reason: "upstream closed abnormally" };
}

/**
 * One `/ws/single` socket's protocol state: in the lobby or in a chat, who the
 * user is (from the last `ready`), and what a frame means in that state.
 */
export class SingleSocket {
	private current: Phase = "lobby";
	/** The identity of the last `ready`: the bridge re-sends it as `init` on a fresh lobby socket. */
	private identity: { user_id: string; token: string } | null = null;
	/** `after` of the client's `init`, for the chat socket of a resume. */
	private after: number | undefined;
	private chatId: string | null = null;
	/** The chat that just ended: a `ready.chat` naming it (a notice that came late) is not re-entered. */
	private endedChat: string | null = null;
	/** The next `ready` answers the bridge's own `init`: the client never asked for it. */
	private ownInit = false;

	get phase(): Phase {
		return this.current;
	}

	/** The live chat the socket is in (null in the lobby). */
	get chat(): string | null {
		return this.chatId;
	}

	get initialised(): boolean {
		return this.identity !== null;
	}

	/** A frame from the client, decided against the upstream that would receive it now. */
	fromClient(frame: string | ArrayBuffer): ClientStep {
		const peeked = peekClient(frame);
		if (!peeked) return { kind: "forward" };
		const { type, payload } = peeked;
		if (this.current === "lobby") {
			// What the lobby answers on /ws (unknown_type), built by the same codec,
			// without waking the singleton for a frame it can only refuse.
			if (CHAT_ONLY.has(type)) return this.refusedByLobby(frame);
			if (type !== "init") return { kind: "forward" };
			const checked = initAfter(payload);
			if (!checked.ok) return answer({ code: "invalid_payload", message: checked.message, requestType: "init" });
			// Once initialised the lobby answers already_initialized; `after` counts only for the first init.
			if (this.identity) return { kind: "forward" };
			this.after = checked.after;
			return { kind: "forward", awaitsInit: true };
		}
		if (!LOBBY_ONLY.has(type)) return { kind: "forward" };
		return this.lobbyEventInChat(type, frame, payload);
	}

	private refusedByLobby(frame: string | ArrayBuffer): ClientStep {
		const parsed = parseLobby(frame);
		// Never ok (the type is not a lobby event); kept total for the type checker.
		return parsed.ok ? { kind: "forward" } : answer(parsed);
	}

	/** What the lobby would answer a user in a live chat (the chat's object does not know these events). */
	private lobbyEventInChat(type: string, frame: string | ArrayBuffer, payload: unknown): ClientStep {
		if (type === "init") {
			const checked = initAfter(payload);
			if (!checked.ok) return answer({ code: "invalid_payload", message: checked.message, requestType: "init" });
			return answer({ code: "already_initialized", message: "init was already sent", requestType: "init" });
		}
		const parsed = parseLobby(frame);
		if (!parsed.ok) return answer(parsed);
		switch (parsed.event.type) {
			case "join_queue":
				return answer({
					code: "in_chat",
					message: "you are in a live chat; leave it first",
					requestType: "join_queue",
				});
			case "leave_queue":
				return answer({ code: "not_queued", message: "not waiting", requestType: "leave_queue" });
			case "solve":
				// A challenge belongs to a lobby socket, and this user's closed when the match came.
				return answer({
					code: "invalid_solution",
					message: "no such challenge is pending (stale nonce)",
					requestType: "solve",
				});
			default:
				return { kind: "forward" };
		}
	}

	/** A frame from the current upstream. */
	fromUpstream(frame: string | ArrayBuffer): UpstreamStep {
		const type = serverType(frame);
		if (type !== "ready" && type !== "match_found" && type !== "chat_ended" && type !== "error") {
			return { forward: true };
		}
		const parsed = parseServer(frame);
		if (!parsed.ok) return { forward: true };
		const event = parsed.event;
		if (this.current === "lobby") {
			if (event.type === "ready") return this.ready(event.payload);
			if (event.type === "match_found") {
				this.enterChat(event.payload.chat_id);
				return { forward: true, move: { to: "chat", chatId: event.payload.chat_id, ticket: event.payload.ticket } };
			}
			if (event.type === "error" && event.payload.request_type === "init") return { forward: true, answeredInit: true };
			return { forward: true };
		}
		if (event.type === "chat_ended" && event.payload.chat_id === this.chatId) {
			this.endedChat = this.chatId;
			this.chatId = null;
			this.current = "lobby";
			this.ownInit = this.identity !== null;
			const init = this.identity ? initFrame(this.identity) : null;
			return { forward: true, move: { to: "lobby", init } };
		}
		return { forward: true };
	}

	private ready(payload: ServerPayload<"ready">): UpstreamStep {
		this.identity = { user_id: payload.user_id, token: payload.token };
		// The answer to the bridge's own init after a chat: the client is initialised already.
		const own = this.ownInit;
		this.ownInit = false;
		const chat = payload.chat;
		if (!chat || chat.chat_id === this.endedChat) return { forward: !own, answeredInit: true };
		// A live chat: the client is back in it at once (ready first, so it knows where it is).
		const after = this.after;
		this.after = undefined;
		this.enterChat(chat.chat_id);
		return {
			forward: true,
			answeredInit: true,
			move: { to: "chat", chatId: chat.chat_id, ticket: chat.ticket, ...(after === undefined ? {} : { after }) },
		};
	}

	private enterChat(chatId: string): void {
		this.current = "chat";
		this.chatId = chatId;
		this.endedChat = null;
		this.after = undefined;
	}
}
