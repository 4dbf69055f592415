// fast-check arbitraries for the wire protocol: text of every kind (including
// lone surrogates), valid client events of both sockets with the payload the
// parser must turn them into, and valid server events.
import fc from "fast-check";
import {
	AGE_BANDS,
	END_REASONS,
	ERROR_CODES,
	GENDERS,
	MAX_CLIENT_MSG_ID_CHARS,
	MAX_CONTENT_CHARS,
	MAX_INTEREST_CHARS,
	MAX_INTERESTS,
	MAX_REPORT_REASON_CHARS,
	MAX_SOLUTION_CHARS,
	PREFERENCES,
	type ServerEvent,
} from "../../src/protocol/schemas";

// ---- characters and text ----------------------------------------------------

/** Every character `String.prototype.trim` removes (ECMAScript WhiteSpace and LineTerminator). */
export const TRIMMED_CHARS = [
	"\t",
	"\n",
	"\v",
	"\f",
	"\r",
	" ",
	"\u00a0",
	"\u1680",
	"\u2000",
	"\u2001",
	"\u2002",
	"\u2003",
	"\u2004",
	"\u2005",
	"\u2006",
	"\u2007",
	"\u2008",
	"\u2009",
	"\u200a",
	"\u2028",
	"\u2029",
	"\u202f",
	"\u205f",
	"\u3000",
	"\ufeff",
] as const;
const TRIMMED = new Set<string>(TRIMMED_CHARS);

/** Characters that tend to break things: quotes, escapes, NUL, combining marks, astral, case oddities. */
const SPICY = ['"', "\\", "/", "\u0000", "\u001f", "\u007f", "\u0301", "\u200b", "🦩", "𝒜", "İ", "ß", "ǅ", "Σ", "ﬀ"];

/** Exactly one well-formed code point (never a lone surrogate). */
export const codePoint: fc.Arbitrary<string> = fc.oneof(
	{ weight: 4, arbitrary: fc.integer({ min: 0x20, max: 0x7e }).map((cp) => String.fromCodePoint(cp)) },
	{
		weight: 4,
		arbitrary: fc
			.integer({ min: 0, max: 0x10ffff })
			.filter((cp) => cp < 0xd800 || cp > 0xdfff)
			.map((cp) => String.fromCodePoint(cp)),
	},
	{ weight: 1, arbitrary: fc.constantFrom(...TRIMMED_CHARS) },
	{ weight: 2, arbitrary: fc.constantFrom(...SPICY) },
);

/** One code point that `trim` keeps. */
export const solidCodePoint = codePoint.filter((c) => !TRIMMED.has(c));

/** A UTF-16 unit on its own: about one in 32 is half a surrogate pair. */
export const utf16Unit = fc.integer({ min: 0, max: 0xffff }).map((u) => String.fromCharCode(u));

export const loneSurrogate = fc.integer({ min: 0xd800, max: 0xdfff }).map((u) => String.fromCharCode(u));

/** Whitespace `trim` removes, 0–4 characters. */
export const pad = fc.string({ unit: fc.constantFrom(...TRIMMED_CHARS), maxLength: 4 });

/** Well-formed text of `min`–`max` code points; mostly short, sometimes up to `max`. */
export function text(min: number, max: number): fc.Arbitrary<string> {
	const exact = (n: number) => fc.string({ unit: codePoint, minLength: n, maxLength: n });
	const small = fc.string({ unit: codePoint, minLength: min, maxLength: Math.min(max, min + 10) });
	if (max <= min + 10) return small;
	return fc.oneof(
		{ weight: 8, arbitrary: small },
		{ weight: 1, arbitrary: fc.integer({ min, max }).chain(exact) },
		{ weight: 1, arbitrary: fc.constantFrom(min, max).chain(exact) },
	);
}

/** Well-formed text of `min`–`max` code points that is not blank after trimming. */
export function solidText(min: number, max: number): fc.Arbitrary<string> {
	return fc
		.tuple(solidCodePoint, text(Math.max(0, min - 1), max - 1), fc.nat())
		.map(([solid, rest, at]) => insertAt(rest, solid, at));
}

/** Any string at all: ASCII, full Unicode, graphemes, and raw UTF-16 with lone surrogates. */
export const anyText: fc.Arbitrary<string> = fc.oneof(
	fc.string(),
	fc.string({ unit: "binary" }),
	fc.string({ unit: "grapheme" }),
	fc.string({ unit: utf16Unit }),
	fc.string({ unit: codePoint }),
);

/** `value` with `piece` inserted at code point `at` (modulo its length + 1). */
export function insertAt(value: string, piece: string, at: number): string {
	const cps = [...value];
	cps.splice(at % (cps.length + 1), 0, piece);
	return cps.join("");
}

/** Flips the case of ASCII letters only, so lower-casing gives the same string back. */
export function flipAsciiCase(value: string): string {
	return value.replace(/[a-zA-Z]/g, (c) => (c === c.toLowerCase() ? c.toUpperCase() : c.toLowerCase()));
}

export function countCodePoints(value: string): number {
	return [...value].length;
}

// ---- valid client events ------------------------------------------------------

/** A client event as sent (`input`, JSON-stringified onto the wire) and the event the parser must return. */
/** A client event as written and as the parser of `socket` must return it. */
export interface Case {
	socket: "lobby" | "chat";
	input: Record<string, unknown>;
	expected: { type: string; payload: Record<string, unknown> };
}
/** A case before it is placed on a socket. */
type Modelled = Omit<Case, "socket">;
const on =
	(socket: Case["socket"]) =>
	(c: Modelled): Case => ({ socket, ...c });

/** An event with no data: `payload` omitted, `null`, or `{}`, and whatever unknown keys. */
function emptyEvent(type: string): fc.Arbitrary<Modelled> {
	return fc.constantFrom<Modelled["input"]>({ type }, { type, payload: null }, { type, payload: {} }).map((input) => ({
		input,
		expected: { type, payload: {} },
	}));
}

/** A normalised interest (trimmed, lower-cased) is 1–32 code points. */
const interestCore = solidText(1, MAX_INTEREST_CHARS).filter((s) => {
	const n = countCodePoints(s.trim().toLowerCase());
	return n >= 1 && n <= MAX_INTEREST_CHARS;
});

/** 0–5 interests drawn from a small pool, with case flips and padding, so duplicates are common. */
const interests: fc.Arbitrary<string[]> = fc.array(interestCore, { minLength: 1, maxLength: 3 }).chain((pool) =>
	fc.array(
		fc
			.tuple(fc.constantFrom(...pool), pad, pad, fc.boolean())
			.map(([core, left, right, flip]) => `${left}${flip ? flipAsciiCase(core) : core}${right}`),
		{ maxLength: MAX_INTERESTS },
	),
);

/** PROTOCOL.md: trimmed, lower-cased, duplicates collapse keeping the first. */
export function normaliseInterests(list: readonly string[]): string[] {
	const out: string[] = [];
	for (const raw of list) {
		const norm = raw.trim().toLowerCase();
		if (!out.includes(norm)) out.push(norm);
	}
	return out;
}

const init: fc.Arbitrary<Modelled> = fc.oneof(
	emptyEvent("init"),
	fc.record({ user_id: anyText, token: anyText }, { requiredKeys: [] }).map((payload) => ({
		input: { type: "init", payload },
		expected: { type: "init", payload: { ...payload } },
	})),
);

const joinQueue: fc.Arbitrary<Modelled> = fc
	.record(
		{
			gender: fc.constantFrom(...GENDERS),
			preference: fc.constantFrom(...PREFERENCES),
			interests,
			age_band: fc.constantFrom(...AGE_BANDS),
		},
		{ requiredKeys: ["gender", "preference"] },
	)
	.map((payload) => ({
		input: { type: "join_queue", payload },
		expected: {
			type: "join_queue",
			payload: {
				gender: payload.gender,
				preference: payload.preference,
				interests: normaliseInterests(payload.interests ?? []),
				// PROTOCOL.md: an absent age_band means "adult".
				age_band: payload.age_band ?? "adult",
			},
		},
	}));

/** `solution` is the one length counted in UTF-16 units (1–64). */
export const solution = fc.string({ unit: utf16Unit, minLength: 1, maxLength: MAX_SOLUTION_CHARS });

const solve: fc.Arbitrary<Modelled> = fc.record({ nonce: anyText, solution }).map((payload) => ({
	input: { type: "solve", payload },
	expected: { type: "solve", payload: { ...payload } },
}));

/** The lobby's report of the last chat (PROTOCOL.md 1.1): a chat id, and a reason or none. */
const lobbyReport: fc.Arbitrary<Modelled> = fc
	.record({ chat_id: anyText, reason: text(0, MAX_REPORT_REASON_CHARS) }, { requiredKeys: ["chat_id"] })
	.map((payload) => ({
		input: { type: "report", payload },
		expected: { type: "report", payload: { ...payload } },
	}));

export const lobbyCase: fc.Arbitrary<Case> = fc
	.oneof(init, joinQueue, emptyEvent("leave_queue"), solve, lobbyReport, emptyEvent("ping"))
	.map(on("lobby"));

/** Valid `content`: padding around text that is 1–2000 code points after trimming. */
export const content = fc
	.tuple(pad, solidText(1, MAX_CONTENT_CHARS), pad)
	.map(([left, core, right]) => `${left}${core}${right}`);

const sendMessage: fc.Arbitrary<Modelled> = fc
	.record(
		{
			content,
			client_msg_id: text(1, MAX_CLIENT_MSG_ID_CHARS),
			chat_id: anyText,
		},
		{ requiredKeys: ["content"] },
	)
	.map((payload) => ({
		input: { type: "send_message", payload },
		expected: { type: "send_message", payload: { ...payload, content: payload.content.trim() } },
	}));

const typing: fc.Arbitrary<Modelled> = fc.boolean().map((is_typing) => ({
	input: { type: "typing", payload: { is_typing } },
	expected: { type: "typing", payload: { is_typing } },
}));

const report: fc.Arbitrary<Modelled> = fc.oneof(
	emptyEvent("report"),
	text(0, MAX_REPORT_REASON_CHARS).map((reason) => ({
		input: { type: "report", payload: { reason } },
		expected: { type: "report", payload: { reason } },
	})),
);

export const chatCase: fc.Arbitrary<Case> = fc
	.oneof(sendMessage, typing, emptyEvent("leave_chat"), report, emptyEvent("ping"))
	.map(on("chat"));

// ---- valid server events ------------------------------------------------------

const count = fc.maxSafeNat();
const chatRef = fc.record({ chat_id: anyText, ticket: anyText, chat_url: anyText });

export const serverEvent: fc.Arbitrary<ServerEvent> = fc.oneof(
	fc
		.record(
			{
				user_id: anyText,
				token: anyText,
				resumed: fc.boolean(),
				presence: fc.record({ online: count, waiting: count, chatting: count }),
				chat: chatRef,
			},
			{ requiredKeys: ["user_id", "token", "resumed", "presence"] },
		)
		.map((payload) => ({ type: "ready" as const, payload })),
	fc.record({ waiting: count }).map((payload) => ({ type: "queue_joined" as const, payload })),
	fc.constant({ type: "queue_left" as const, payload: {} }),
	fc
		.record({
			chat_id: anyText,
			ticket: anyText,
			chat_url: anyText,
			partner: fc.record({ gender: fc.constantFrom(...GENDERS) }),
			shared_interests: fc.array(anyText, { maxLength: MAX_INTERESTS }),
		})
		.map((payload) => ({ type: "match_found" as const, payload })),
	fc.constant({ type: "pong" as const, payload: {} }),
	fc.record({ nonce: anyText, difficulty: count }).map((payload) => ({ type: "challenge" as const, payload })),
	fc
		.record(
			{
				code: fc.constantFrom(...ERROR_CODES),
				message: anyText,
				request_type: anyText,
				retry_after_ms: count,
			},
			{ requiredKeys: ["code", "message"] },
		)
		.map((payload) => ({ type: "error" as const, payload })),
	fc
		.record({ chat_id: anyText, partner_online: fc.boolean() })
		.map((payload) => ({ type: "chat_joined" as const, payload })),
	fc.record({ online: fc.boolean() }).map((payload) => ({ type: "partner_status" as const, payload })),
	fc
		.record(
			{ chat_id: anyText, message_id: count, client_msg_id: anyText, sent_at: count },
			{ requiredKeys: ["chat_id", "message_id", "sent_at"] },
		)
		.map((payload) => ({ type: "message_sent" as const, payload })),
	fc
		.record({ chat_id: anyText, message_id: count, content: text(1, MAX_CONTENT_CHARS), sent_at: count })
		.map((payload) => ({ type: "message_received" as const, payload })),
	fc.record({ is_typing: fc.boolean() }).map((payload) => ({ type: "partner_typing" as const, payload })),
	fc
		.record({ chat_id: anyText, reason: fc.constantFrom(...END_REASONS) })
		.map((payload) => ({ type: "chat_ended" as const, payload })),
);

// ---- wrong values -------------------------------------------------------------

/** A JSON value that is not a string. */
export const notString: fc.Arbitrary<unknown> = fc.oneof(
	fc.integer(),
	fc.double({ noNaN: true, noDefaultInfinity: true }),
	fc.boolean(),
	fc.constant(null),
	fc.array(fc.jsonValue({ maxDepth: 2 }), { maxLength: 3 }),
	fc.dictionary(fc.string(), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 3 }),
);

/** A JSON value that is not a boolean. */
export const notBoolean: fc.Arbitrary<unknown> = fc.oneof(
	fc.integer(),
	fc.constantFrom("true", "false", "", 0, 1, null),
	fc.array(fc.boolean(), { maxLength: 2 }),
	fc.dictionary(fc.string(), fc.boolean(), { maxKeys: 2 }),
	anyText,
);

/** A JSON value that is not an array of strings. */
export const notStringArray: fc.Arbitrary<unknown> = fc.oneof(
	notString.filter((v) => !Array.isArray(v)),
	anyText,
	fc.array(notString, { minLength: 1, maxLength: 3 }),
	fc.tuple(fc.array(fc.constantFrom("a", "b"), { maxLength: 3 }), notString, fc.nat()).map(([list, bad, at]) => {
		const out: unknown[] = [...list];
		out.splice(at % (list.length + 1), 0, bad);
		return out;
	}),
);
