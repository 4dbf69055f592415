// Every duration of PROTOCOL.md in one place. Tests shorten them through
// optional variables (never set in wrangler.toml) so that a window can end
// within a test instead of after ten seconds.
import { TICKET_TTL_MS } from "./domain/auth/signing";
import type { Env } from "./env";
import { INIT_TIMEOUT_MS, INTEREST_WINDOW_MS } from "./protocol/schemas";

export interface Timings {
	/** A user with interests matches only people sharing one this long (rule 3). */
	interestWindowMs: number;
	/** A chat ends `partner_disconnected` when a chat socket stays closed this long. */
	graceMs: number;
	/** A chat ends `abandoned` when not both users joined this long after the match. */
	abandonMs: number;
	/** A socket silent this long (no frame, no auto-answered ping) is treated as gone. */
	heartbeatTimeoutMs: number;
	/** How often an object with open sockets looks for silent ones. */
	sweepMs: number;
	/** The first-contact link gate holds this long into a chat (and for each side's first 3 messages). */
	linkGateMs: number;
	/** A lobby socket that has not said `init` this long after opening is closed (4408). */
	initTimeoutMs: number;
	/** A chat ends this long after its match, however busy: as long as its tickets live. */
	maxChatMs: number;
}

export const DEFAULT_TIMINGS: Timings = {
	interestWindowMs: INTEREST_WINDOW_MS,
	graceMs: 30_000,
	abandonMs: 60_000,
	// Silent for 40 s, noticed by a sweep at most 20 s later: within two heartbeat intervals.
	heartbeatTimeoutMs: 40_000,
	sweepMs: 20_000,
	linkGateMs: 30_000,
	initTimeoutMs: INIT_TIMEOUT_MS,
	maxChatMs: TICKET_TTL_MS,
};

function ms(value: string | undefined, fallback: number): number {
	const n = value === undefined || value.trim() === "" ? Number.NaN : Number(value);
	return Number.isFinite(n) && n >= 0 ? n : fallback;
}

export function timingsFrom(env: Env): Timings {
	return {
		interestWindowMs: ms(env.INTEREST_WINDOW_MS, DEFAULT_TIMINGS.interestWindowMs),
		graceMs: ms(env.GRACE_MS, DEFAULT_TIMINGS.graceMs),
		abandonMs: ms(env.ABANDON_MS, DEFAULT_TIMINGS.abandonMs),
		heartbeatTimeoutMs: ms(env.HEARTBEAT_TIMEOUT_MS, DEFAULT_TIMINGS.heartbeatTimeoutMs),
		sweepMs: ms(env.SWEEP_MS, DEFAULT_TIMINGS.sweepMs),
		linkGateMs: ms(env.LINK_GATE_MS, DEFAULT_TIMINGS.linkGateMs),
		initTimeoutMs: ms(env.INIT_TIMEOUT_MS, DEFAULT_TIMINGS.initTimeoutMs),
		maxChatMs: DEFAULT_TIMINGS.maxChatMs,
	};
}

/**
 * When the Matchmaker drops a chat that no ChatRoom ever reported as joined.
 * A little after the abandon deadline, so that a join just before it (whose
 * notice is on its way) is not taken for a chat that never started.
 */
export function unjoinedChatGraceMs(t: Timings): number {
	return t.abandonMs + Math.min(5_000, t.abandonMs / 4);
}

/** Leading zero bits of the abuse challenge: about a second of SHA-256 on a phone. Tests lower it. */
export function challengeDifficulty(env: Env): number {
	const text = env.CHALLENGE_DIFFICULTY?.trim() ?? "";
	const n = text === "" ? Number.NaN : Number(text);
	return Number.isInteger(n) && n >= 0 && n <= 32 ? n : 16;
}

/** Rate limits of PROTOCOL.md (Security). */
export const LIMITS = {
	/** Lobby: join_queue per socket. */
	join: { ratePerSec: 1, burst: 5 },
	/** Chat: send_message per socket. */
	message: { ratePerSec: 5, burst: 10 },
	/** Any frame on any socket: far above what a person produces, a cap on floods. */
	frame: { ratePerSec: 20, burst: 40 },
	/** More refused events than this within a minute close the socket with 1008. */
	refusalsBeforeClose: 20,
	refusalWindowMs: 60_000,
} as const;
