// Frames in and out. `parse*` never throws: any input becomes a typed event or
// a protocol error value carrying one of PROTOCOL.md's codes.
import * as v from "valibot";
import {
	type ChatClientEvent,
	CONTENT_TOO_LONG,
	clientChatPayloads,
	clientLobbyPayloads,
	type ErrorCode,
	type LobbyClientEvent,
	MAX_FRAME_BYTES,
	MAX_READ_FRAME_BYTES,
	type ServerEvent,
	type ServerEventType,
	type ServerPayload,
	serverPayloads,
} from "./schemas";

export interface ProtocolError {
	ok: false;
	code: ErrorCode;
	message: string;
	/** The `type` of the refused frame, when it had one. */
	requestType?: string;
}
export type Parsed<E> = { ok: true; event: E } | ProtocolError;

type Frame = string | ArrayBuffer | ArrayBufferView | unknown;

const encoder = new TextEncoder();

/** Whether `text` is longer than `limit` bytes in UTF-8; encodes it only when the cheap bounds cannot tell. */
function utf8Over(text: string, limit: number): boolean {
	// Every UTF-16 unit is 1 to 3 UTF-8 bytes.
	if (text.length * 3 <= limit) return false;
	if (text.length > limit) return true;
	return encoder.encode(text).length > limit;
}

/**
 * Whether a frame is too big to be read at all (PROTOCOL.md 1.1: closed with
 * 1009). Checked before anything else looks at the frame.
 */
export function tooBigToRead(frame: string | ArrayBuffer): boolean {
	return typeof frame === "string" ? utf8Over(frame, MAX_READ_FRAME_BYTES) : frame.byteLength > MAX_READ_FRAME_BYTES;
}

function fail(code: ErrorCode, message: string, requestType?: string): ProtocolError {
	return requestType === undefined ? { ok: false, code, message } : { ok: false, code, message, requestType };
}

/** The envelope: a JSON object of at most 16 KiB with a string `type`. */
function envelope(frame: Frame): { type: string; payload: unknown } | ProtocolError {
	if (typeof frame !== "string") {
		return fail("bad_frame", "binary frames are not accepted; send JSON text");
	}
	if (utf8Over(frame, MAX_FRAME_BYTES)) {
		return fail("bad_frame", `frame is larger than ${MAX_FRAME_BYTES} bytes`);
	}
	let value: unknown;
	try {
		value = JSON.parse(frame);
	} catch {
		return fail("bad_frame", "frame is not valid JSON");
	}
	if (typeof value !== "object" || value === null || Array.isArray(value)) {
		return fail("bad_frame", "frame must be a JSON object");
	}
	const type: unknown = Object.hasOwn(value, "type") ? (value as Record<string, unknown>).type : undefined;
	if (typeof type !== "string") {
		return fail("bad_frame", 'frame must have a string "type"');
	}
	const payload: unknown = Object.hasOwn(value, "payload") ? (value as Record<string, unknown>).payload : undefined;
	return { type, payload };
}

/** At most `max` code points of `text`, never ending in half a surrogate pair. */
function clip(text: string, max: number): string {
	const points = Array.from(text);
	const cut = points.length > max ? `${points.slice(0, max).join("")}…` : text;
	return cut.toWellFormed();
}

/**
 * A readable reason that never echoes the client's input back: valibot's
 * type errors quote what they received, which could be 16 KiB of anything.
 */
function describe(issues: readonly v.BaseIssue<unknown>[]): string {
	const first = issues[0];
	if (!first) return "invalid payload";
	const path = first.path?.map((p) => clip(String(p.key), 32)).join(".");
	const what = first.kind === "schema" ? `expected ${first.expected ?? "a different type"}` : first.message;
	return clip(path ? `${path}: ${what}` : what, 200);
}

function parseWith<T extends Record<string, v.GenericSchema>, E extends { type: keyof T; payload: unknown }>(
	schemas: T,
	frame: Frame,
): Parsed<E> {
	const env = envelope(frame);
	if ("ok" in env) return env;
	const { type } = env;
	if (!Object.hasOwn(schemas, type)) {
		return fail("unknown_type", `unknown event type "${clip(type, 64)}"`, clip(type, 64));
	}
	const schema = schemas[type] as v.GenericSchema;
	// `payload` may be omitted (or null) when an event carries no data.
	const payload = env.payload ?? {};
	if (typeof payload !== "object" || Array.isArray(payload)) {
		return fail("invalid_payload", "payload must be a JSON object", type);
	}
	const result = v.safeParse(schema, payload);
	if (!result.success) {
		const code = result.issues.some((i) => i.message === CONTENT_TOO_LONG) ? "message_too_long" : "invalid_payload";
		return fail(code, describe(result.issues), type);
	}
	return { ok: true, event: { type, payload: result.output } as E };
}

/** Parse a frame received on the lobby socket (`/ws`). */
export function parseLobby(frame: Frame): Parsed<LobbyClientEvent> {
	return parseWith<typeof clientLobbyPayloads, LobbyClientEvent>(clientLobbyPayloads, frame);
}

/** Parse a frame received on a chat socket (`/ws/chat/:id`). */
export function parseChat(frame: Frame): Parsed<ChatClientEvent> {
	return parseWith<typeof clientChatPayloads, ChatClientEvent>(clientChatPayloads, frame);
}

/** Parse a frame sent by the server (for clients and tests). */
export function parseServer(frame: Frame): Parsed<ServerEvent> {
	return parseWith<typeof serverPayloads, ServerEvent>(serverPayloads, frame);
}

/** Build a frame. The server always sends `payload`, `{}` when empty. */
export function build<T extends ServerEventType>(type: T, payload: ServerPayload<T>): string {
	return JSON.stringify({ type, payload });
}

/** The `error` frame for a protocol error value. */
export function buildError(error: Omit<ProtocolError, "ok">, retryAfterMs?: number): string {
	return build("error", {
		code: error.code,
		message: error.message,
		...(error.requestType === undefined ? {} : { request_type: error.requestType }),
		...(retryAfterMs === undefined ? {} : { retry_after_ms: Math.max(0, Math.ceil(retryAfterMs)) }),
	});
}

/** The exact ping frame answered by the runtime's auto-response, without waking an object. */
export const PING_FRAME = '{"type":"ping"}';
export const PONG_FRAME = build("pong", {});
