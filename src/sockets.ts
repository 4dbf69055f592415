// Small helpers shared by the two Durable Objects for their hibernatable sockets.

import type { LimitVerdict } from "./limits/socket-limits";
import { build, buildError, type ProtocolError } from "./protocol/codec";
import type { ServerEventType, ServerPayload } from "./protocol/schemas";

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
export function refuseRateLimited(ws: WebSocket, verdict: RateRefusal, requestType: string | undefined): boolean {
	sendError(
		ws,
		{ code: "rate_limited", message: "too many events; slow down", ...(requestType ? { requestType } : {}) },
		verdict.retryAfterMs,
	);
	if (verdict.close) closeSocket(ws, 1008, "rate limit exceeded");
	return verdict.close;
}

/** An unexpected failure: logged for us, a retryable `internal` error for the client. */
export function sendInternalError(ws: WebSocket, where: string, err: unknown): void {
	console.error(`${where}: unexpected error`, err);
	sendError(ws, { code: "internal", message: "internal error; please retry" });
}

export function closeSocket(ws: WebSocket, code: number, reason: string): void {
	try {
		ws.close(code, reason);
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
export function refuseSocket(code: number, reason: string): Response {
	const pair = new WebSocketPair();
	const server = pair[1];
	server.accept();
	server.close(code, reason);
	return new Response(null, { status: 101, webSocket: pair[0] });
}

/** `ws:`/`wss:` origin matching the `http:`/`https:` URL a socket was opened on. */
export function socketOrigin(url: URL): string {
	return `${url.protocol === "https:" ? "wss:" : "ws:"}//${url.host}`;
}
