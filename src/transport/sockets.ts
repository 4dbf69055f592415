// Small helpers shared by the two Durable Objects for their hibernatable sockets.

import type { LimitsBySocket, LimitVerdict } from "../domain/limits/socket-limits";
import { errorText, log } from "../log";
import { CLOSE_RATE_LIMITED } from "../protocol/close-codes";
import type { Parsed } from "../protocol/codec";
import { build, buildError, type ProtocolError } from "../protocol/codec";
import type { ServerEventType, ServerPayload } from "../protocol/schemas";

type RateRefusal = Extract<LimitVerdict, { ok: false }>;

/** Sends a frame; a socket that is closing or gone is ignored, never thrown at. */
export function sendFrame(ws: WebSocket, frame: string): void {
	if (ws.readyState !== WebSocket.OPEN) return;
	try {
		ws.send(frame);
	} catch {
		// Closed between the check and the send: the close handler cleans up.
	}
}

export function send<T extends ServerEventType>(ws: WebSocket, type: T, payload: ServerPayload<T>): void {
	sendFrame(ws, build(type, payload));
}

export function sendError(ws: WebSocket, error: Omit<ProtocolError, "ok">, retryAfterMs?: number): void {
	sendFrame(ws, buildError(error, retryAfterMs));
}

/**
 * Answers a frame refused by the rate limits with `rate_limited`; a socket
 * that keeps pushing is closed with 1008. Returns whether it was closed.
 */
export function refuseRateLimited(
	ws: WebSocket,
	socket: "lobby" | "chat",
	verdict: RateRefusal,
	requestType: string | undefined,
): boolean {
	log({ event: "rate_limited", socket, request_type: requestType ?? null, closed: verdict.close });
	sendError(
		ws,
		{ code: "rate_limited", message: "too many events; slow down", ...(requestType ? { requestType } : {}) },
		verdict.retryAfterMs,
	);
	if (verdict.close) closeSocket(ws, CLOSE_RATE_LIMITED);
	return verdict.close;
}

/** An unexpected failure: logged for us, a retryable `internal` error for the client. */
export function sendInternalError(ws: WebSocket, where: string, err: unknown): void {
	log({ event: "internal_error", where, error: errorText(err) });
	sendError(ws, { code: "internal", message: "internal error; please retry" });
}

export function closeSocket(ws: WebSocket, close: { code: number; reason: string }): void {
	try {
		ws.close(close.code, close.reason);
	} catch {
		// Already closed.
	}
}

/**
 * When a socket was last heard from: the newer of the last frame we handled
 * (kept in its attachment) and the last ping the runtime answered for us.
 */
export function lastSeen(ctx: DurableObjectState, ws: WebSocket, seenInAttachment: number): number {
	const auto = ctx.getWebSocketAutoResponseTimestamp(ws)?.getTime() ?? 0;
	return Math.max(auto, seenInAttachment);
}

/** Only refresh a socket's "seen" attachment this often: it is rewritten, not free. */
export const SEEN_RESOLUTION_MS = 5_000;

/** Completes a WebSocket upgrade only to close it at once with a protocol close code. */
export function refuseSocket(close: { code: number; reason: string }): Response {
	const pair = new WebSocketPair();
	const server = pair[1];
	server.accept();
	server.close(close.code, close.reason);
	return new Response(null, { status: 101, webSocket: pair[0] });
}

/**
 * The common start of every frame on either socket, once it is parsed: hold
 * it to the socket's rate limits and answer what is refused. Returns the
 * event to handle, or null when the frame was answered already; `onRefused`
 * hears every rate-limit refusal and whether it closed the socket (1008).
 */
export function admitFrame<E extends { type: string }>(
	ws: WebSocket,
	parsed: Parsed<E>,
	limits: LimitsBySocket,
	socket: "lobby" | "chat",
	costlyType: E["type"],
	now: number,
	onRefused: (closed: boolean) => void,
): E | null {
	const verdict = limits.for(ws, now).check(now, parsed.ok && parsed.event.type === costlyType);
	if (!verdict.ok) {
		onRefused(refuseRateLimited(ws, socket, verdict, parsed.ok ? parsed.event.type : parsed.requestType));
		return null;
	}
	if (!parsed.ok) {
		sendError(ws, parsed);
		return null;
	}
	return parsed.event;
}

const attachments = new WeakMap<WebSocket, object>();

/**
 * A socket's attachment, deserialised once per socket object and kept: every
 * frame needs it, and the caller's changes go to the same object before they
 * are written back with `serializeAttachment`. After hibernation the runtime
 * hands out new socket objects, so nothing stale is ever returned.
 */
export function attachmentOf<A extends object>(ws: WebSocket): A {
	let att = attachments.get(ws);
	if (att === undefined) {
		att = ws.deserializeAttachment() as A;
		attachments.set(ws, att);
	}
	return att as A;
}

/** Records that a socket was heard from, rewriting its attachment at most every SEEN_RESOLUTION_MS. */
export function touchSeen<A extends { seen: number }>(ws: WebSocket, att: A, now: number): void {
	if (now - att.seen < SEEN_RESOLUTION_MS) return;
	att.seen = now;
	ws.serializeAttachment(att);
}
