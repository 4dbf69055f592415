// Small helpers shared by the two Durable Objects for their hibernatable
// sockets: sending, closing, refusing, attachments. What each object owns
// (its sockets, its frames, its alarm) is in socket-hub.ts, frames.ts and
// alarms.ts, built on these.

import type { LimitVerdict } from "../domain/limits/socket-limits";
import { errorText, log } from "../log";
import { CLOSE_RATE_LIMITED } from "../protocol/close-codes";
import { build, buildError, type ProtocolError } from "../protocol/codec";
import type { ServerEventType, ServerPayload } from "../protocol/schemas";

type RateRefusal = Extract<LimitVerdict, { ok: false }>;

/** Sends a frame as it is (text or binary); a socket that is closing or gone is ignored, never thrown at. */
export function sendFrame(ws: WebSocket, frame: string | ArrayBuffer): void {
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

/** Only refresh a socket's "seen" attachment this often: it is rewritten, not free. */
export const SEEN_RESOLUTION_MS = 5_000;

/**
 * The upgrade check of both objects: null for a WebSocket upgrade, else the
 * 426 answer to give instead.
 */
export function notAnUpgrade(request: Request): Response | null {
	if (request.headers.get("Upgrade")?.toLowerCase() === "websocket") return null;
	return new Response("expected a WebSocket upgrade", { status: 426, headers: { Upgrade: "websocket" } });
}

/** Accepts the server end of a new socket with its first attachment; returns it and the 101 answer. */
export function acceptSocket(
	ctx: DurableObjectState,
	tags: string[],
	attachment: object,
): { ws: WebSocket; response: Response } {
	const pair = new WebSocketPair();
	const ws = pair[1];
	ctx.acceptWebSocket(ws, tags);
	ws.serializeAttachment(attachment);
	return { ws, response: new Response(null, { status: 101, webSocket: pair[0] }) };
}

/**
 * Answers a client's close with the same code and reason. 1005 ("no status
 * received") may not be sent in a close frame: it is answered with 1000.
 */
export function echoClose(ws: WebSocket, code: number, reason: string): void {
	closeSocket(ws, { code: code === 1005 ? 1000 : code, reason });
}

/** Completes a WebSocket upgrade only to close it at once with a protocol close code. */
export function refuseSocket(close: { code: number; reason: string }): Response {
	const pair = new WebSocketPair();
	const server = pair[1];
	server.accept();
	server.close(close.code, close.reason);
	return new Response(null, { status: 101, webSocket: pair[0] });
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
