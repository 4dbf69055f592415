// The wire contract of PROTOCOL.md as valibot schemas. Every TypeScript type
// of an event is inferred from here, so a type can never drift from its check.
import * as v from "valibot";

export const GENDERS = ["male", "female", "other"] as const;
/** Adults and teens are never matched with each other; a client that says nothing is an adult. */
export const AGE_BANDS = ["adult", "teen"] as const;
export const REPORT_REASONS = ["spam", "harassment", "minor", "sexual", "other"] as const;
export const PREFERENCES = [...GENDERS, "any"] as const;
export const ERROR_CODES = [
	"bad_frame",
	"unknown_type",
	"invalid_payload",
	"not_initialized",
	"already_initialized",
	"already_queued",
	"not_queued",
	"in_chat",
	"message_too_long",
	"wrong_chat",
	"rate_limited",
	"internal",
	"link_blocked",
	"invalid_solution",
] as const;
export const END_REASONS = ["you_left", "partner_left", "you_reported", "partner_disconnected", "abandoned"] as const;

export const MAX_FRAME_BYTES = 16 * 1024;
/** Frames over this are not parsed at all: the socket is closed with 1009 (PROTOCOL.md 1.1). */
export const MAX_READ_FRAME_BYTES = 64 * 1024;
/** The unit of the protocol's day-long windows (tickets, reports, the `_24h` counters). */
export const DAY_MS = 24 * 60 * 60 * 1000;
/** Users with shared interests are preferred for this long after joining the queue; then anyone. */
export const INTEREST_WINDOW_MS = 10_000;
/** A lobby socket must send `init` within this long of opening (PROTOCOL.md 1.1). */
export const INIT_TIMEOUT_MS = 10_000;
/** Frames before `init` that are still answered; the next one closes the socket with 1008. */
export const FRAMES_BEFORE_INIT = 2;
/** Open lobby sockets one address may hold; the next upgrade is refused with HTTP 429. */
export const MAX_LOBBY_SOCKETS_PER_ADDRESS = 64;
/** How long after a chat ended its users may still report each other on the lobby. */
export const REPORT_AFTER_END_MS = 5 * 60 * 1000;
export const MAX_INTERESTS = 5;
export const MAX_INTEREST_CHARS = 32;
export const MAX_CONTENT_CHARS = 2000;
export const MAX_CLIENT_MSG_ID_CHARS = 64;
export const MAX_REPORT_REASON_CHARS = 500;
export const MAX_SOLUTION_CHARS = 64;
/** A client confirms what it got (`received`) within this long of the `message_received` (PROTOCOL.md 1.1). */
export const RECEIPT_WITHIN_MS = 100;
/** A message its partner has not confirmed this long after it was relayed is stored, then acked. */
export const RECEIPT_TIMEOUT_MS = 1_000;

export type Gender = (typeof GENDERS)[number];
export type Preference = (typeof PREFERENCES)[number];
export type ErrorCode = (typeof ERROR_CODES)[number];
export type EndReason = (typeof END_REASONS)[number];
export type AgeBand = (typeof AGE_BANDS)[number];
export type ReportReason = (typeof REPORT_REASONS)[number];

/** Older clients sent free text: anything that is not a known reason counts as "other". */
export function reportReason(text: string | undefined): ReportReason {
	const r = (text ?? "").trim().toLowerCase();
	return (REPORT_REASONS as readonly string[]).includes(r) ? (r as ReportReason) : "other";
}

/** Lengths count Unicode code points, as PROTOCOL.md does, not UTF-16 units. */
export function codePoints(text: string): number {
	let n = 0;
	for (const _ of text) n++;
	return n;
}

// A lone surrogate cannot be encoded as UTF-8; accepting one would relay text
// that the partner's client cannot display faithfully.
const wellFormed = v.check<string, string>((s) => s.isWellFormed(), "must be well-formed Unicode (no lone surrogates)");

/** The message a too-long `content` fails with; the codec maps it to `message_too_long`. */
export const CONTENT_TOO_LONG = `content is longer than ${MAX_CONTENT_CHARS} characters`;

const interest = v.pipe(
	v.string(),
	wellFormed,
	v.transform((s) => s.trim().toLowerCase()),
	v.check((s) => s.length > 0, "an interest must not be empty"),
	v.check((s) => codePoints(s) <= MAX_INTEREST_CHARS, `an interest is at most ${MAX_INTEREST_CHARS} characters`),
);

const content = v.pipe(
	v.string(),
	wellFormed,
	v.transform((s) => s.trim()),
	v.check((s) => s.length > 0, "content must not be empty"),
	v.check((s) => codePoints(s) <= MAX_CONTENT_CHARS, CONTENT_TOO_LONG),
);

const empty = v.object({});

const reportReasonText = v.optional(
	v.pipe(
		v.string(),
		wellFormed,
		v.check((s) => codePoints(s) <= MAX_REPORT_REASON_CHARS, `reason is at most ${MAX_REPORT_REASON_CHARS} characters`),
	),
);

/** A lowercase ISO 639-1 code ("en", "pt"): 2 or 3 letters. */
const language = v.pipe(v.string(), v.regex(/^[a-z]{2,3}$/, 'language is a lowercase ISO 639-1 code, such as "en"'));

// ---- client → server ----------------------------------------------------

export const clientLobbyPayloads = {
	init: v.object({
		user_id: v.optional(v.string()),
		token: v.optional(v.string()),
	}),
	join_queue: v.object({
		gender: v.picklist(GENDERS),
		preference: v.picklist(PREFERENCES),
		interests: v.optional(
			v.pipe(
				v.array(interest),
				v.maxLength(MAX_INTERESTS, `at most ${MAX_INTERESTS} interests`),
				// Compared case-insensitively after trimming; duplicates collapse.
				v.transform((list) => [...new Set(list)]),
			),
			[],
		),
		age_band: v.optional(v.picklist(AGE_BANDS), "adult"),
		/** Inside the interest window, no partner who gave a different language (PROTOCOL.md 1.1). */
		language: v.optional(language),
	}),
	leave_queue: empty,
	solve: v.object({
		nonce: v.string(),
		solution: v.pipe(
			v.string(),
			v.minLength(1, "solution must not be empty"),
			v.maxLength(MAX_SOLUTION_CHARS, `solution is at most ${MAX_SOLUTION_CHARS} characters`),
		),
	}),
	/** A report of the last chat, after it ended (PROTOCOL.md 1.1). */
	report: v.object({ chat_id: v.string(), reason: reportReasonText }),
	ping: empty,
} as const;

/**
 * `init` as `/ws/single` takes it (PROTOCOL.md "One socket for everything"):
 * the lobby's `init` plus `after`, the last message id the client has of its
 * live chat (what `?after=N` is on `/ws/chat`). The Worker checks it
 * (src/server/single-socket.ts) because the lobby does not know `after` (its
 * schema drops unknown fields), and the chat socket must be opened with it.
 */
export const singleInitPayload = v.object({
	...clientLobbyPayloads.init.entries,
	after: v.optional(v.pipe(v.number(), v.integer(), v.minValue(0), v.maxValue(Number.MAX_SAFE_INTEGER))),
});
export type SingleInit = v.InferOutput<typeof singleInitPayload>;

export const clientChatPayloads = {
	send_message: v.object({
		content,
		client_msg_id: v.optional(
			v.pipe(
				v.string(),
				wellFormed,
				v.minLength(1, "client_msg_id must not be empty"),
				v.check(
					(s) => codePoints(s) <= MAX_CLIENT_MSG_ID_CHARS,
					`client_msg_id is at most ${MAX_CLIENT_MSG_ID_CHARS} characters`,
				),
			),
		),
		chat_id: v.optional(v.string()),
	}),
	typing: v.object({ is_typing: v.boolean() }),
	/** "I have every message of my partner with message_id ≤ up_to" (PROTOCOL.md 1.1, delivery receipts). */
	received: v.object({ up_to: v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(Number.MAX_SAFE_INTEGER)) }),
	leave_chat: empty,
	report: v.object({ reason: reportReasonText }),
	ping: empty,
} as const;

type PayloadsOf<T extends Record<string, v.GenericSchema>> = {
	[K in keyof T]: { type: K; payload: v.InferOutput<T[K]> };
}[keyof T];

export type LobbyClientEvent = PayloadsOf<typeof clientLobbyPayloads>;
export type ChatClientEvent = PayloadsOf<typeof clientChatPayloads>;
export type ClientEvent = LobbyClientEvent | ChatClientEvent;
/** The payload a client writes (before trimming and defaults). */
export type ClientEventInput =
	| {
			[K in keyof typeof clientLobbyPayloads]: {
				type: K;
				payload?: v.InferInput<(typeof clientLobbyPayloads)[K]>;
			};
	  }[keyof typeof clientLobbyPayloads]
	| {
			[K in keyof typeof clientChatPayloads]: {
				type: K;
				payload?: v.InferInput<(typeof clientChatPayloads)[K]>;
			};
	  }[keyof typeof clientChatPayloads];

// ---- server → client ----------------------------------------------------

const count = v.pipe(v.number(), v.integer(), v.minValue(0));
const presence = v.object({ online: count, waiting: count, chatting: count });
const chatRef = v.object({
	chat_id: v.string(),
	ticket: v.string(),
	chat_url: v.string(),
});

export const serverPayloads = {
	ready: v.object({
		user_id: v.string(),
		token: v.string(),
		resumed: v.boolean(),
		presence,
		chat: v.optional(chatRef),
	}),
	queue_joined: v.object({ waiting: count }),
	queue_left: empty,
	match_found: v.object({
		...chatRef.entries,
		partner: v.object({ gender: v.picklist(GENDERS), language: v.optional(language) }),
		shared_interests: v.array(v.string()),
	}),
	pong: empty,
	challenge: v.object({ nonce: v.string(), difficulty: count }),
	reported: v.object({ chat_id: v.string() }),
	error: v.object({
		code: v.picklist(ERROR_CODES),
		message: v.string(),
		request_type: v.optional(v.string()),
		retry_after_ms: v.optional(count),
	}),
	chat_joined: v.object({ chat_id: v.string(), partner_online: v.boolean() }),
	partner_status: v.object({ online: v.boolean() }),
	message_sent: v.object({
		chat_id: v.string(),
		message_id: count,
		client_msg_id: v.optional(v.string()),
		sent_at: count,
	}),
	message_received: v.object({
		chat_id: v.string(),
		message_id: count,
		content: v.string(),
		/** The sender's, when it gave one: a receiver drops a message it already has. */
		client_msg_id: v.optional(v.string()),
		sent_at: count,
	}),
	message_delivered: v.object({ chat_id: v.string(), up_to: count }),
	partner_typing: v.object({ is_typing: v.boolean() }),
	chat_ended: v.object({ chat_id: v.string(), reason: v.picklist(END_REASONS) }),
} as const;

export type ServerEvent = PayloadsOf<typeof serverPayloads>;
export type ServerEventType = ServerEvent["type"];
export type ServerPayload<T extends ServerEventType> = Extract<ServerEvent, { type: T }>["payload"];
export type Presence = v.InferOutput<typeof presence>;

/** `GET /api/stats`: presence, live chats, and the safety counters of the last 24 hours. */
export const statsSchema = v.object({
	...presence.entries,
	active_chats: count,
	reports_24h: count,
	challenges_24h: count,
});
export type Stats = v.InferOutput<typeof statsSchema>;
export type ChatRef = v.InferOutput<typeof chatRef>;
