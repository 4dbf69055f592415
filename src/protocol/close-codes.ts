// Every close code and reason of PROTOCOL.md, in one place: the server closes
// with them, FlamingoClient and the tests read them from here. A client tells
// "the server is done with this socket" from "reconnect" by code and reason,
// so a reason string is part of the contract as much as its code.

/** The lobby socket after `match_found`: the user goes on in the chat. */
export const CLOSE_MATCHED = { code: 1000, reason: "matched" } as const;
/** The chat socket after `chat_ended`: the user goes back to the lobby. */
export const CLOSE_CHAT_ENDED = { code: 1000, reason: "chat ended" } as const;
/** A second socket of the same user took this one's place (another tab). */
export const CLOSE_REPLACED = { code: 4409, reason: "replaced by a newer connection" } as const;
/** A chat socket whose ticket is forged, expired or not for this chat; reasons vary. */
export const CLOSE_BAD_TICKET = 4401;
/** A socket that sent nothing, not even a ping, for HEARTBEAT_TIMEOUT_MS. */
export const CLOSE_HEARTBEAT_TIMEOUT = { code: 1001, reason: "heartbeat timeout" } as const;

/** A lobby socket that sent no `init` within INIT_TIMEOUT_MS. */
export const CLOSE_INIT_TIMEOUT = { code: 4408, reason: "init timeout" } as const;
/** The 3rd frame before `init`, or a socket that kept pushing past its rate limits. */
export const CLOSE_POLICY = 1008;
export const CLOSE_INIT_REQUIRED = { code: CLOSE_POLICY, reason: "init required" } as const;
export const CLOSE_RATE_LIMITED = { code: CLOSE_POLICY, reason: "rate limit exceeded" } as const;
/** A frame over MAX_READ_FRAME_BYTES: closed without reading it. */
export const CLOSE_TOO_BIG = { code: 1009, reason: "message too big" } as const;

/** The client's own closes: leaving (`close()`), and a socket given up on because no pong came back. */
export const CLOSE_BYE = { code: 1000, reason: "bye" } as const;
export const CLOSE_NO_PONG = { code: 4000, reason: "no pong" } as const;

/**
 * A close the server chose because it is done with the socket: not to be
 * retried. Any other 1000 must be: partysocket reports a failed attempt as
 * 1000 without a reason and an attempt that timed out as 1000 "timeout", and
 * in Node it re-dispatches every close without a reason as "unknown reason".
 */
export function serverEnded(e: { code: number; reason?: string }): boolean {
	return e.code === 1000 && (e.reason === CLOSE_MATCHED.reason || e.reason === CLOSE_CHAT_ENDED.reason);
}
