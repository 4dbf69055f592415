// Close codes and reasons of PROTOCOL.md that version 1.1 added for hostile
// clients; clients and tests import them from here.

/** A lobby socket that sent no `init` within INIT_TIMEOUT_MS. */
export const CLOSE_INIT_TIMEOUT = { code: 4408, reason: "init timeout" } as const;
/** The 3rd frame before `init`, or a socket that kept pushing past its rate limits. */
export const CLOSE_POLICY = 1008;
export const CLOSE_INIT_REQUIRED = { code: CLOSE_POLICY, reason: "init required" } as const;
/** A frame over MAX_READ_FRAME_BYTES: closed without reading it. */
export const CLOSE_TOO_BIG = { code: 1009, reason: "message too big" } as const;
