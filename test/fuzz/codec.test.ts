// Property-based tests of the frame parser (src/protocol/codec.ts), inside
// workerd like the server that uses it. FUZZ_RUNS cases per property
// (test/fuzz/runs.ts): a few thousand in `npm test`, 100,000 in `npm run fuzz`.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { build, buildError, type Parsed, parseChat, parseLobby, parseServer } from "../../src/protocol/codec";
import {
	clientChatPayloads,
	clientLobbyPayloads,
	ERROR_CODES,
	MAX_CLIENT_MSG_ID_CHARS,
	MAX_CONTENT_CHARS,
	MAX_FRAME_BYTES,
	MAX_INTEREST_CHARS,
	MAX_INTERESTS,
	MAX_REPORT_REASON_CHARS,
	MAX_SOLUTION_CHARS,
	serverPayloads,
} from "../../src/protocol/schemas";
import {
	anyText,
	type Case,
	chatCase,
	codePoint,
	countCodePoints,
	insertAt,
	lobbyCase,
	loneSurrogate,
	notBoolean,
	notString,
	notStringArray,
	pad,
	serverEvent,
	solidCodePoint,
	solidText,
	text,
	utf16Unit,
} from "./arbitraries";
import { FUZZ_RUNS } from "./runs";

const params = { numRuns: FUZZ_RUNS };
/** Room for 100,000 cases per property in `npm run fuzz`; the default run stays far below it. */
const TIMEOUT_MS = Math.max(15_000, FUZZ_RUNS * 3);

type Parser = (frame: unknown) => Parsed<{ type: string; payload: unknown }>;
const PARSERS: [string, Parser][] = [
	["parseLobby", parseLobby],
	["parseChat", parseChat],
	["parseServer", parseServer],
];
const KNOWN_CODES = new Set<string>(ERROR_CODES);
/** The only codes a parser can decide on its own; the rest need the server's state. */
const PARSER_CODES = new Set(["bad_frame", "unknown_type", "invalid_payload", "message_too_long"]);

// Taken from the schemas, so events added later are fuzzed too.
const LOBBY_TYPES = Object.keys(clientLobbyPayloads);
const CHAT_TYPES = Object.keys(clientChatPayloads);
const SERVER_TYPES = Object.keys(serverPayloads);
/** Every payload field a client event has, on either socket. */
const CLIENT_FIELDS = new Set(
	[...Object.values(clientLobbyPayloads), ...Object.values(clientChatPayloads)].flatMap((schema) =>
		Object.keys((schema as { entries?: object }).entries ?? {}),
	),
);
const keysOf = (schemas: Record<string, unknown>) =>
	new Map(
		Object.entries(schemas).map(([type, schema]) => [
			type,
			new Set(Object.keys((schema as { entries?: object }).entries ?? {})),
		]),
	);
/** The fields each event's schema knows, per parser: nothing else may come out of a parse. */
const FIELDS: Record<string, Map<string, Set<string>>> = {
	parseLobby: keysOf(clientLobbyPayloads),
	parseChat: keysOf(clientChatPayloads),
	parseServer: keysOf(serverPayloads),
};
const parserOf = (socket: Case["socket"]): Parser => (socket === "lobby" ? parseLobby : parseChat);
/** Every client event type with its socket (report is on both since version 1.1). */
const SOCKET_TYPES = [
	...LOBBY_TYPES.map((type) => ({ socket: "lobby" as const, type })),
	...CHAT_TYPES.map((type) => ({ socket: "chat" as const, type })),
];
/** The key of an event in the tables below: the lobby's report is not the chat's. */
const modelKey = (socket: Case["socket"], type: string) =>
	socket === "lobby" && type === "report" ? "lobby report" : type;
const PROTO_NAMES = ["__proto__", "constructor", "prototype", "toString", "hasOwnProperty", "valueOf"];

function show(value: unknown): string {
	if (typeof value === "string") return JSON.stringify(value.length > 300 ? `${value.slice(0, 300)}…` : value);
	if (value instanceof ArrayBuffer) return `ArrayBuffer(${value.byteLength})`;
	if (ArrayBuffer.isView(value)) return `${value.constructor.name}(${value.byteLength})`;
	try {
		return String(JSON.stringify(value)).slice(0, 300);
	} catch {
		return String(value);
	}
}

/** Calls every parser on `frame`: none may throw, each refusal must be well-formed. Returns the results. */
function parseAll(frame: unknown): Parsed<{ type: string; payload: unknown }>[] {
	return PARSERS.map(([name, parse]) => {
		let result: Parsed<{ type: string; payload: unknown }>;
		try {
			result = parse(frame);
		} catch (err) {
			throw new Error(`${name} threw on ${show(frame)}: ${String(err)}`);
		}
		if (result.ok) {
			const { type, payload } = result.event;
			if (typeof type !== "string" || typeof payload !== "object" || payload === null) {
				throw new Error(`${name} returned a malformed event for ${show(frame)}`);
			}
			// Unknown fields are ignored, not passed on; the payload is a plain object.
			const known = FIELDS[name]?.get(type);
			const extra = Object.keys(payload).filter((k) => !known?.has(k));
			if (extra.length > 0 || Object.getPrototypeOf(payload) !== Object.prototype) {
				throw new Error(`${name} passed on unknown fields ${JSON.stringify(extra)} for ${show(frame)}`);
			}
			return result;
		}
		const where = `${name}(${show(frame)}) → ${JSON.stringify(result)}`;
		if (!KNOWN_CODES.has(result.code)) throw new Error(`unknown error code: ${where}`);
		if (!PARSER_CODES.has(result.code)) throw new Error(`a parser cannot decide this code: ${where}`);
		if (typeof result.message !== "string" || result.message === "") throw new Error(`no message: ${where}`);
		if (result.code === "bad_frame") {
			if (result.requestType !== undefined) throw new Error(`bad_frame with a request type: ${where}`);
		} else if (typeof result.requestType !== "string") {
			throw new Error(`${result.code} without the frame's type: ${where}`);
		}
		if (result.code === "message_too_long" && !(name === "parseChat" && result.requestType === "send_message")) {
			throw new Error(`message_too_long outside send_message: ${where}`);
		}
		return result;
	});
}

const codeOf = (r: Parsed<unknown>) => (r.ok ? "ok" : r.code);

// ---- (1) never throws, always a protocol code -----------------------------------

/** A frame that is JSON text of an object with a random (often known) type and a random payload. */
const envelopeText: fc.Arbitrary<string> = fc
	.record(
		{
			type: fc.oneof(fc.constantFrom(...LOBBY_TYPES, ...CHAT_TYPES, ...SERVER_TYPES, ...PROTO_NAMES), anyText),
			payload: fc.oneof(
				fc.jsonValue(),
				fc.dictionary(
					fc.constantFrom(...CLIENT_FIELDS, "code", "message"),
					fc.oneof(fc.jsonValue({ maxDepth: 2 }), anyText, fc.array(anyText, { maxLength: 7 })),
				),
			),
			extra: fc.jsonValue({ maxDepth: 1 }),
		},
		{ requiredKeys: [] },
	)
	.map((value) => JSON.stringify(value));

/** Valid frames of every kind, then damaged at the character level. */
const mutatedText: fc.Arbitrary<string> = fc
	.tuple(
		fc.oneof(
			lobbyCase.map((c) => JSON.stringify(c.input)),
			chatCase.map((c) => JSON.stringify(c.input)),
			serverEvent.map((e) => JSON.stringify(e)),
		),
		fc.array(
			fc.record({
				op: fc.constantFrom("insert", "delete", "replace", "truncate"),
				at: fc.nat(),
				piece: fc.oneof(fc.constantFrom('"', "{", "}", "[", "]", ",", ":", "\\", "\\u", "null", " "), anyText),
			}),
			{ minLength: 1, maxLength: 4 },
		),
	)
	.map(([frame, edits]) => {
		let out = frame;
		for (const { op, at, piece } of edits) {
			const i = at % (out.length + 1);
			if (op === "insert") out = out.slice(0, i) + piece + out.slice(i);
			else if (op === "delete") out = out.slice(0, i) + out.slice(i + 1 + (at % 3));
			else if (op === "replace") out = out.slice(0, i) + piece + out.slice(i + piece.length);
			else out = out.slice(0, i);
		}
		return out;
	});

/** Nesting far deeper than anything the schemas look at. */
const deepText: fc.Arbitrary<string> = fc
	.tuple(fc.integer({ min: 1, max: 5_000 }), fc.constantFrom("[", '{"a":'), fc.boolean())
	.map(([depth, open, inPayload]) => {
		const close = open === "[" ? "]" : "}";
		const nested = `${open.repeat(depth)}1${close.repeat(depth)}`;
		return inPayload ? `{"type":"join_queue","payload":{"gender":"male","interests":${nested}}}` : nested;
	});

/** Text near and over the 16 KiB limit. */
const bigText: fc.Arbitrary<string> = fc
	.tuple(fc.integer({ min: MAX_FRAME_BYTES / 4 - 8, max: MAX_FRAME_BYTES + 8 }), codePoint, fc.boolean())
	.map(([n, c, asType]) => {
		const filler = c.repeat(Math.max(1, Math.floor(n / Math.max(1, new TextEncoder().encode(c).length))));
		return asType ? JSON.stringify({ type: filler }) : JSON.stringify({ type: "ping", payload: { x: filler } });
	});

const binary: fc.Arbitrary<unknown> = fc.oneof(
	fc.uint8Array({ maxLength: 64 }).map((a) => a.buffer),
	fc.uint8Array({ maxLength: 64 }),
	fc.uint8Array({ maxLength: 64 }).map((a) => new DataView(a.buffer)),
	// Bytes that are valid JSON text: still binary, still refused.
	lobbyCase.map((c) => new TextEncoder().encode(JSON.stringify(c.input)).buffer),
);

describe("the parser is total", () => {
	it(
		"arbitrary strings, lone surrogates included: never throws, refuses with a protocol code",
		() => {
			fc.assert(
				fc.property(fc.oneof(anyText, fc.string({ unit: "binary", maxLength: 200 }), mutatedText), (frame) => {
					parseAll(frame);
				}),
				params,
			);
		},
		TIMEOUT_MS,
	);

	it(
		"arbitrary JSON values and JS values stringified: never throws, refuses with a protocol code",
		() => {
			fc.assert(
				fc.property(
					fc.oneof(
						fc.jsonValue().map((v) => JSON.stringify(v)),
						fc.anything({ withBoxedValues: true, withNullPrototype: true, withSparseArray: true }).map((v) => {
							try {
								return String(JSON.stringify(v));
							} catch {
								return "";
							}
						}),
						envelopeText,
						deepText,
					),
					(frame) => {
						parseAll(frame);
					},
				),
				params,
			);
		},
		TIMEOUT_MS,
	);

	it(
		"bytes (ArrayBuffer, Uint8Array, DataView) are always bad_frame",
		() => {
			fc.assert(
				fc.property(binary, (frame) => {
					for (const r of parseAll(frame)) expect(codeOf(r)).toBe("bad_frame");
				}),
				params,
			);
		},
		TIMEOUT_MS,
	);

	it(
		"values that are neither text nor bytes are bad_frame",
		() => {
			fc.assert(
				fc.property(
					fc.anything().filter((v) => typeof v !== "string"),
					(frame) => {
						for (const r of parseAll(frame)) expect(codeOf(r)).toBe("bad_frame");
					},
				),
				params,
			);
		},
		TIMEOUT_MS,
	);

	it(
		"frames near and over 16 KiB: never throws, refuses with a protocol code",
		() => {
			fc.assert(
				fc.property(bigText, (frame) => {
					const bytes = new TextEncoder().encode(frame).length;
					for (const r of parseAll(frame)) {
						if (bytes > MAX_FRAME_BYTES) expect(codeOf(r)).toBe("bad_frame");
					}
				}),
				params,
			);
		},
		TIMEOUT_MS,
	);
});

/** True when every string in a JSON value (keys included) is well-formed Unicode. */
function allWellFormed(value: unknown): boolean {
	if (typeof value === "string") return value.isWellFormed();
	if (Array.isArray(value)) return value.every(allWellFormed);
	if (typeof value === "object" && value !== null) {
		return Object.entries(value).every(([k, v]) => k.isWellFormed() && allWellFormed(v));
	}
	return true;
}

/** Frames that draw long or odd echoes: huge types and values near 16 KiB, astral characters around cut points. */
const echoText: fc.Arbitrary<string> = fc.oneof(
	bigText,
	fc
		.tuple(
			fc.constantFrom("gender", "preference", "is_typing", "content"),
			fc.integer({ min: 1, max: MAX_FRAME_BYTES - 60 }),
			codePoint,
		)
		.map(([field, n, c]) => {
			const type = field === "is_typing" ? "typing" : field === "content" ? "send_message" : "join_queue";
			const value = field === "content" ? Number(n) : c.repeat(Math.ceil(n / 4));
			return JSON.stringify({ type, payload: { gender: "male", preference: "any", [field]: value } });
		}),
	// Runs of astral characters (two UTF-16 units each) at every offset.
	fc
		.tuple(fc.integer({ min: 0, max: 80 }), fc.integer({ min: 1, max: 50 }), fc.constantFrom("🦩", "𝒜", "😀"))
		.map(([ascii, astral, c]) => JSON.stringify({ type: `${"t".repeat(ascii)}${c.repeat(astral)}` })),
	envelopeText,
	mutatedText,
);

describe("refusals the server sends back", () => {
	it(
		"every refusal of a frame a client can send (well-formed text) is an error frame parseServer reads back",
		() => {
			fc.assert(
				fc.property(
					echoText.filter((f) => f.isWellFormed()),
					(frame) => {
						for (const parse of [parseLobby, parseChat]) {
							const r = parse(frame);
							if (r.ok) continue;
							const sent = buildError(r);
							const payload = {
								code: r.code,
								message: r.message,
								...(r.requestType === undefined ? {} : { request_type: r.requestType }),
							};
							expect(parseServer(sent), `the error for ${show(frame)}`).toEqual({
								ok: true,
								event: { type: "error", payload },
							});
						}
					},
				),
				params,
			);
		},
		TIMEOUT_MS,
	);

	it(
		"a refusal's message is well-formed Unicode whenever every string in the frame is",
		() => {
			fc.assert(
				fc.property(echoText, (frame) => {
					let value: unknown;
					try {
						value = JSON.parse(frame);
					} catch {
						value = undefined;
					}
					if (!frame.isWellFormed() || !allWellFormed(value)) return;
					for (const parse of [parseLobby, parseChat]) {
						const r = parse(frame);
						if (!r.ok) expect(r.message.isWellFormed(), `${r.code}: ${JSON.stringify(r.message)}`).toBe(true);
					}
				}),
				params,
			);
		},
		TIMEOUT_MS,
	);
});

// ---- (2) valid events round-trip ---------------------------------------------------

/** The smallest valid payload of each client event these tests model. */
const MINIMAL: Record<string, Record<string, unknown>> = {
	init: {},
	join_queue: { gender: "other", preference: "any" },
	solve: { nonce: "n", solution: "0" },
	leave_queue: {},
	ping: {},
	send_message: { content: "x" },
	typing: { is_typing: false },
	leave_chat: {},
	report: {},
	"lobby report": { chat_id: "c" },
};
/** The fields of each event whose normalised value the arbitraries compute themselves. */
const MODELLED: Record<string, string[]> = {
	init: ["user_id", "token"],
	join_queue: ["gender", "preference", "interests", "age_band"],
	solve: ["nonce", "solution"],
	send_message: ["content", "client_msg_id", "chat_id"],
	typing: ["is_typing"],
	report: ["reason"],
	"lobby report": ["chat_id", "reason"],
};

/**
 * The event the parser must return for a case: the modelled fields exactly as
 * the arbitrary computed them, and any other field with the value it gets in
 * the smallest valid payload (an optional field's default, such as a field
 * added to the protocol after these tests were written).
 */
function expectedEvent(c: Case): Case["expected"] {
	const type = c.expected.type;
	const key = modelKey(c.socket, type);
	const minimal = parserOf(c.socket)(JSON.stringify({ type, payload: MINIMAL[key] ?? {} }));
	if (!minimal.ok) throw new Error(`the minimal ${type} payload was refused: ${minimal.message}`);
	const defaults = { ...(minimal.event.payload as Record<string, unknown>) };
	for (const field of [...Object.keys(MINIMAL[key] ?? {}), ...(MODELLED[key] ?? [])]) delete defaults[field];
	return { type, payload: { ...defaults, ...c.expected.payload } };
}

function roundTrip(parse: Parser, c: Case): void {
	const frame = JSON.stringify(c.input);
	expect(parse(frame)).toEqual({ ok: true, event: expectedEvent(c) });
}

describe("valid events round-trip", () => {
	it(
		"lobby events: JSON → parseLobby is ok with the normalised payload",
		() => {
			fc.assert(
				fc.property(lobbyCase, (c) => roundTrip(parseLobby, c)),
				params,
			);
		},
		TIMEOUT_MS,
	);

	it(
		"chat events: JSON → parseChat is ok with the normalised payload",
		() => {
			fc.assert(
				fc.property(chatCase, (c) => roundTrip(parseChat, c)),
				params,
			);
		},
		TIMEOUT_MS,
	);

	it(
		"lobby events are unknown_type on a chat socket and chat events on a lobby socket (ping and report are both)",
		() => {
			fc.assert(
				fc.property(fc.oneof(lobbyCase, chatCase), (c) => {
					const frame = JSON.stringify(c.input);
					const type = c.expected.type;
					if (type === "ping" || type === "report") return;
					const other = parserOf(c.socket === "lobby" ? "chat" : "lobby")(frame);
					expect(other).toMatchObject({ ok: false, code: "unknown_type", requestType: type });
				}),
				params,
			);
		},
		TIMEOUT_MS,
	);

	it(
		"server events: build() → parseServer gives the same event back",
		() => {
			fc.assert(
				fc.property(serverEvent, (e) => {
					const frame = build(e.type, e.payload as never);
					expect(parseServer(frame)).toEqual({ ok: true, event: e });
				}),
				params,
			);
		},
		TIMEOUT_MS,
	);

	it(
		"buildError() → parseServer gives the error back, retry_after_ms rounded up to a whole ms",
		() => {
			fc.assert(
				fc.property(
					fc.constantFrom(...ERROR_CODES),
					anyText,
					fc.option(anyText, { nil: undefined }),
					fc.option(fc.double({ min: -1e9, max: 1e12, noNaN: true }), { nil: undefined }),
					(code, message, requestType, retry) => {
						const frame = buildError(
							requestType === undefined ? { code, message } : { code, message, requestType },
							retry,
						);
						const payload = {
							code,
							message,
							...(requestType === undefined ? {} : { request_type: requestType }),
							...(retry === undefined ? {} : { retry_after_ms: Math.max(0, Math.ceil(retry)) }),
						};
						expect(parseServer(frame)).toEqual({ ok: true, event: { type: "error", payload } });
					},
				),
				params,
			);
		},
		TIMEOUT_MS,
	);
});

// ---- (3) mutations ---------------------------------------------------------------

/** A JSON object's text from key → JSON text pairs, so keys like `__proto__` stay own keys. */
function objectText(pairs: readonly (readonly [string, string])[]): string {
	return `{${pairs.map(([k, v]) => `${JSON.stringify(k)}:${v}`).join(",")}}`;
}

function pairsOf(value: Record<string, unknown>): [string, string][] {
	return Object.entries(value).map(([k, v]) => [k, JSON.stringify(v)]);
}

/** The frame of `c` with its payload replaced by `payload` (a plain object). */
function withPayload(c: Case, payload: Record<string, unknown>): string {
	return JSON.stringify({ type: c.input.type, payload });
}

const basePayload = (c: Case): Record<string, unknown> =>
	typeof c.input.payload === "object" && c.input.payload !== null ? { ...(c.input.payload as object) } : {};

type Field = {
	/** Only where the type alone does not say (report is on both sockets). */
	socket?: Case["socket"];
	type: string;
	field: string;
	required: boolean;
	wrong: fc.Arbitrary<unknown>;
};
const WRONGLY_TYPED: Field[] = [
	{ type: "init", field: "user_id", required: false, wrong: notString },
	{ type: "init", field: "token", required: false, wrong: notString },
	{
		type: "join_queue",
		field: "gender",
		required: true,
		wrong: fc.oneof(
			notString,
			anyText.filter((s) => !["male", "female", "other"].includes(s)),
		),
	},
	{
		type: "join_queue",
		field: "preference",
		required: true,
		wrong: fc.oneof(
			notString,
			anyText.filter((s) => !["male", "female", "other", "any"].includes(s)),
		),
	},
	{ type: "join_queue", field: "interests", required: false, wrong: notStringArray },
	{
		type: "join_queue",
		field: "age_band",
		required: false,
		wrong: fc.oneof(
			notString,
			anyText.filter((s) => !["adult", "teen"].includes(s)),
		),
	},
	{ type: "solve", field: "nonce", required: true, wrong: notString },
	{ type: "solve", field: "solution", required: true, wrong: notString },
	{ type: "send_message", field: "content", required: true, wrong: notString },
	{ type: "send_message", field: "client_msg_id", required: false, wrong: notString },
	{ type: "send_message", field: "chat_id", required: false, wrong: notString },
	{ type: "typing", field: "is_typing", required: true, wrong: notBoolean },
	{ socket: "chat", type: "report", field: "reason", required: false, wrong: notString },
	{ socket: "lobby", type: "report", field: "chat_id", required: true, wrong: notString },
	{ socket: "lobby", type: "report", field: "reason", required: false, wrong: notString },
];

const socketOf = (f: Field): Case["socket"] => f.socket ?? (LOBBY_TYPES.includes(f.type) ? "lobby" : "chat");
const caseOf = (f: Field) => (socketOf(f) === "lobby" ? lobbyCase : chatCase).filter((c) => c.expected.type === f.type);

describe("mutated events are refused with the right code", () => {
	it(
		"a wrongly typed field, required or optional, is invalid_payload",
		() => {
			fc.assert(
				fc.property(
					fc.constantFrom(...WRONGLY_TYPED).chain((f) => fc.tuple(fc.constant(f), caseOf(f), f.wrong)),
					([f, c, wrong]) => {
						const frame = withPayload(c, { ...basePayload(c), [f.field]: wrong });
						expect(parserOf(socketOf(f))(frame)).toMatchObject({
							ok: false,
							code: "invalid_payload",
							requestType: f.type,
						});
					},
				),
				params,
			);
		},
		TIMEOUT_MS,
	);

	it(
		"a missing required field, or a payload that is not an object, is invalid_payload",
		() => {
			const required = WRONGLY_TYPED.filter((f) => f.required);
			fc.assert(
				fc.property(
					fc.oneof(
						fc.constantFrom(...required).chain((f) =>
							caseOf(f).map((c) => {
								const payload = basePayload(c);
								delete payload[f.field];
								return { socket: socketOf(f), type: f.type, frame: withPayload(c, payload) };
							}),
						),
						fc
							.tuple(
								fc.constantFrom(...SOCKET_TYPES),
								fc.oneof(
									fc.array(fc.jsonValue({ maxDepth: 1 }), { maxLength: 3 }),
									anyText,
									fc.double({ noNaN: true, noDefaultInfinity: true }),
									fc.boolean(),
								),
							)
							.map(([{ socket, type }, payload]) => ({ socket, type, frame: JSON.stringify({ type, payload }) })),
					),
					({ socket, type, frame }) => {
						expect(parserOf(socket)(frame)).toMatchObject({ ok: false, code: "invalid_payload", requestType: type });
					},
				),
				params,
			);
		},
		TIMEOUT_MS,
	);

	const extraKey = fc
		.string({ unit: "binary", minLength: 1, maxLength: 12 })
		.filter((k) => k !== "type" && k !== "payload" && !CLIENT_FIELDS.has(k));

	it(
		"extra keys in the envelope and the payload are ignored",
		() => {
			fc.assert(
				fc.property(
					fc.oneof(lobbyCase, chatCase),
					fc.dictionary(extraKey, fc.jsonValue({ maxDepth: 2 }), { maxKeys: 4 }),
					fc.dictionary(extraKey, fc.jsonValue({ maxDepth: 2 }), { maxKeys: 4 }),
					(c, envelopeExtra, payloadExtra) => {
						const frame = JSON.stringify({
							...envelopeExtra,
							type: c.input.type,
							payload: { ...payloadExtra, ...basePayload(c) },
						});
						expect(parserOf(c.socket)(frame)).toEqual({ ok: true, event: expectedEvent(c) });
					},
				),
				params,
			);
		},
		TIMEOUT_MS,
	);

	it(
		"__proto__, constructor and prototype keys change nothing and pollute nothing",
		() => {
			const before = Object.getOwnPropertyNames(Object.prototype).sort();
			// Values that would matter if they were merged or inherited.
			const hostile = fc.oneof(
				fc.constantFrom(
					'{"polluted":"yes"}',
					'{"type":"join_queue","payload":{"gender":"male","preference":"any"}}',
					'{"gender":"male","preference":"any","content":"hi","is_typing":true}',
					'{"__proto__":{"polluted":"deep"}}',
					'{"constructor":{"prototype":{"polluted":"ctor"}}}',
					'{"prototype":{"polluted":"proto"}}',
					'"polluted"',
					"null",
					"[]",
					"1",
				),
				fc.jsonValue({ maxDepth: 2 }).map((v) => JSON.stringify(v)),
			);
			const protoPairs = fc.array(
				fc.tuple(fc.constantFrom("__proto__", "constructor", "prototype"), hostile, fc.boolean()),
				{ minLength: 1, maxLength: 4 },
			);
			fc.assert(
				fc.property(fc.oneof(lobbyCase, chatCase), protoPairs, (c, pairs) => {
					const type = c.expected.type;
					const parse = parserOf(c.socket);
					const payload = basePayload(c);
					const plain = JSON.stringify({ type, payload });
					const inEnvelope = pairs.filter(([, , env]) => env).map(([k, v]) => [k, v] as const);
					const inPayload = pairs.filter(([, , env]) => !env).map(([k, v]) => [k, v] as const);
					const frame = objectText([
						...inEnvelope,
						["type", JSON.stringify(type)],
						["payload", objectText([...inPayload, ...pairsOf(payload)])],
					]);
					const expected = parse(plain);
					const got = parse(frame);
					expect(got).toEqual(expected);
					if (got.ok) expect(Object.getPrototypeOf(got.event.payload)).toBe(Object.prototype);
					expect(({} as Record<string, unknown>).polluted).toBeUndefined();
					expect(Object.getOwnPropertyNames(Object.prototype).sort()).toEqual(before);
				}),
				params,
			);
			// A payload whose required fields exist only behind `__proto__` is still missing them.
			for (const [parse, type, hidden] of [
				[parseLobby, "join_queue", '{"gender":"male","preference":"any"}'],
				[parseChat, "send_message", '{"content":"hi"}'],
				[parseChat, "typing", '{"is_typing":true}'],
			] as const) {
				expect(parse(`{"type":"${type}","payload":{"__proto__":${hidden}}}`)).toMatchObject({
					ok: false,
					code: "invalid_payload",
				});
			}
			expect(codeOf(parseLobby('{"__proto__":{"type":"ping"}}'))).toBe("bad_frame");
			expect(codeOf(parseLobby('{"type":"__proto__"}'))).toBe("unknown_type");
			expect(({} as Record<string, unknown>).polluted).toBeUndefined();
		},
		TIMEOUT_MS,
	);

	it(
		"type names of Object.prototype are unknown_type",
		() => {
			for (const type of PROTO_NAMES) {
				for (const parse of [parseLobby, parseChat, parseServer]) {
					expect(parse(JSON.stringify({ type, payload: {} }))).toMatchObject({
						ok: false,
						code: "unknown_type",
						requestType: type,
					});
				}
			}
		},
		TIMEOUT_MS,
	);
});

// ---- boundary lengths ---------------------------------------------------------------

/** Exactly `n` well-formed code points that `trim` keeps at both ends. */
const exactly = (n: number, unit = codePoint) =>
	fc
		.tuple(solidCodePoint, fc.string({ unit, minLength: n - 2, maxLength: n - 2 }), solidCodePoint)
		.map(([a, mid, b]) => (n === 1 ? a : `${a}${mid}${b}`));

/** An interest of exactly `n` code points after trimming and lower-casing. */
const interestOf = (n: number) =>
	exactly(n).filter((s) => countCodePoints(s.toLowerCase()) === n && s.toLowerCase().trim() === s.toLowerCase());

const sendCode = (payload: Record<string, unknown>) =>
	codeOf(parseChat(JSON.stringify({ type: "send_message", payload })));
const joinCode = (interests: unknown) =>
	codeOf(
		parseLobby(JSON.stringify({ type: "join_queue", payload: { gender: "other", preference: "any", interests } })),
	);

describe("boundary lengths", () => {
	it(
		"content of 2000 code points is ok (padding aside), 2001 is message_too_long",
		() => {
			fc.assert(
				fc.property(exactly(MAX_CONTENT_CHARS), solidCodePoint, pad, pad, fc.nat(), (body, one, left, right, at) => {
					const r = parseChat(JSON.stringify({ type: "send_message", payload: { content: `${left}${body}${right}` } }));
					expect(r).toEqual({ ok: true, event: { type: "send_message", payload: { content: body } } });
					expect(sendCode({ content: `${left}${insertAt(body, one, at)}${right}` })).toBe("message_too_long");
				}),
				params,
			);
		},
		TIMEOUT_MS,
	);

	it(
		"blank content is invalid_payload",
		() => {
			fc.assert(
				fc.property(pad, (blank) => {
					expect(sendCode({ content: blank })).toBe("invalid_payload");
				}),
				params,
			);
		},
		TIMEOUT_MS,
	);

	it(
		"an interest of 32 code points is ok, 33 is invalid_payload; blank is invalid_payload",
		() => {
			fc.assert(
				fc.property(
					interestOf(MAX_INTEREST_CHARS),
					interestOf(MAX_INTEREST_CHARS + 1),
					pad,
					pad,
					(ok, long, left, right) => {
						expect(joinCode([`${left}${ok}${right}`])).toBe("ok");
						expect(joinCode([`${left}${long}${right}`])).toBe("invalid_payload");
						expect(joinCode([`${left}${right}`])).toBe("invalid_payload");
					},
				),
				params,
			);
		},
		TIMEOUT_MS,
	);

	it(
		"5 interests are ok, 6 are invalid_payload even when they collapse to one",
		() => {
			fc.assert(
				fc.property(
					fc.array(
						solidText(1, MAX_INTEREST_CHARS).filter((s) => countCodePoints(s.trim().toLowerCase()) <= 32),
						{
							minLength: 1,
							maxLength: 3,
						},
					),
					fc.array(fc.nat(), { minLength: MAX_INTERESTS + 1, maxLength: MAX_INTERESTS + 1 }),
					(pool, picks) => {
						const list = picks.map((i) => pool[i % pool.length] as string);
						expect(joinCode(list.slice(0, MAX_INTERESTS))).toBe("ok");
						expect(joinCode(list)).toBe("invalid_payload");
					},
				),
				params,
			);
		},
		TIMEOUT_MS,
	);

	it(
		"client_msg_id of 1–64 code points is ok; 0 or 65 is invalid_payload",
		() => {
			fc.assert(
				fc.property(
					fc.string({ unit: codePoint, minLength: MAX_CLIENT_MSG_ID_CHARS, maxLength: MAX_CLIENT_MSG_ID_CHARS }),
					codePoint,
					(id, one) => {
						expect(sendCode({ content: "hi", client_msg_id: id })).toBe("ok");
						expect(sendCode({ content: "hi", client_msg_id: id + one })).toBe("invalid_payload");
						expect(sendCode({ content: "hi", client_msg_id: "" })).toBe("invalid_payload");
					},
				),
				params,
			);
		},
		TIMEOUT_MS,
	);

	it(
		"a report reason of 500 code points is ok, 501 is invalid_payload",
		() => {
			fc.assert(
				fc.property(
					fc.string({ unit: codePoint, minLength: MAX_REPORT_REASON_CHARS, maxLength: MAX_REPORT_REASON_CHARS }),
					codePoint,
					(reason, one) => {
						const report = (r: string) => codeOf(parseChat(JSON.stringify({ type: "report", payload: { reason: r } })));
						expect(report(reason)).toBe("ok");
						expect(report(reason + one)).toBe("invalid_payload");
					},
				),
				params,
			);
		},
		TIMEOUT_MS,
	);

	it(
		"a solve solution of 64 UTF-16 units is ok (astral characters count two), 0 or 65 is invalid_payload",
		() => {
			fc.assert(
				fc.property(
					fc.array(codePoint, { minLength: 1, maxLength: 64 }),
					fc.string({ unit: utf16Unit }),
					(cps, fill) => {
						// Exactly 64 units: code points while they fit, then single units.
						let sol = "";
						for (const c of cps) if (sol.length + c.length <= MAX_SOLUTION_CHARS) sol += c;
						sol = (sol + fill + "x".repeat(MAX_SOLUTION_CHARS)).slice(0, MAX_SOLUTION_CHARS);
						const solve = (s: string) =>
							codeOf(parseLobby(JSON.stringify({ type: "solve", payload: { nonce: "n", solution: s } })));
						expect(sol.length).toBe(MAX_SOLUTION_CHARS);
						expect(solve(sol)).toBe("ok");
						expect(solve(`${sol}x`)).toBe("invalid_payload");
						expect(solve("")).toBe("invalid_payload");
					},
				),
				params,
			);
		},
		TIMEOUT_MS,
	);

	/** Code points that JSON.stringify writes as themselves (no escape), of 1 to 4 UTF-8 bytes. */
	const rawCodePoint = codePoint.filter((c) => JSON.stringify(c).length === c.length + 2);
	const encoder = new TextEncoder();
	const utf8 = (s: string) => encoder.encode(s).length;

	it(
		"a frame of exactly 16 KiB of UTF-8 is parsed; one byte more is bad_frame",
		() => {
			fc.assert(
				fc.property(
					fc.array(rawCodePoint, { minLength: 1, maxLength: 50 }),
					fc.constantFrom("ping", "send_message"),
					fc.boolean(),
					(fill, type, spaces) => {
						// {"type":T,"payload":{"content":"hi","pad":"<fill…>x…x"}}, padded to the exact byte.
						const head = `{"type":"${type}","payload":{${type === "send_message" ? '"content":"hi",' : ""}"pad":"`;
						const tail = spaces ? '"} }' : '"}}';
						const sizes = fill.map(utf8);
						const parts: string[] = [];
						let bytes = utf8(head + tail);
						for (let i = 0; bytes < MAX_FRAME_BYTES - 4; i++) {
							parts.push(fill[i % fill.length] as string);
							bytes += sizes[i % sizes.length] as number;
						}
						const body = parts.join("");
						const exact = head + body + "x".repeat(MAX_FRAME_BYTES - bytes) + tail;
						expect(utf8(exact)).toBe(MAX_FRAME_BYTES);
						const over = head + body + "x".repeat(MAX_FRAME_BYTES + 1 - bytes) + tail;
						for (const parse of type === "ping" ? [parseLobby, parseChat] : [parseChat]) {
							expect(codeOf(parse(exact))).toBe("ok");
							expect(parse(over)).toMatchObject({ ok: false, code: "bad_frame" });
						}
					},
				),
				params,
			);
		},
		TIMEOUT_MS,
	);
});

describe("lone surrogates", () => {
	/** A well-formed value with one surrogate half inserted: an odd number of halves can never all pair up. */
	const broken = (value: fc.Arbitrary<string>) =>
		fc.tuple(value, loneSurrogate, fc.nat()).map(([v, half, at]) => {
			const out = insertAt(v, half, at);
			if (out.isWellFormed()) throw new Error(`generator bug: ${JSON.stringify(out)} is well-formed`);
			return out;
		});

	it(
		"in content, an interest, client_msg_id or the report reason: invalid_payload",
		() => {
			fc.assert(
				fc.property(
					fc.oneof(
						// Content at most 2000 code points with the half counted, so the length is never the issue.
						broken(fc.tuple(pad, solidText(1, MAX_CONTENT_CHARS - 1), pad).map(([l, c, r]) => l + c + r)).map((c) => ({
							parse: parseChat,
							frame: { type: "send_message", payload: { content: c } },
						})),
						broken(solidText(1, 20)).map((id) => ({
							parse: parseChat,
							frame: { type: "send_message", payload: { content: "hi", client_msg_id: id } },
						})),
						broken(text(0, 50)).map((reason) => ({ parse: parseChat, frame: { type: "report", payload: { reason } } })),
						fc
							.tuple(broken(solidText(1, 20)), fc.array(fc.constantFrom("music", "art"), { maxLength: 4 }), fc.nat())
							.map(([bad, others, at]) => {
								const interests: string[] = [...others];
								interests.splice(at % (others.length + 1), 0, bad);
								return {
									parse: parseLobby,
									frame: { type: "join_queue", payload: { gender: "female", preference: "any", interests } },
								};
							}),
					),
					({ parse, frame }) => {
						// JSON.stringify writes each lone half as a \uXXXX escape, as a client would have to.
						expect(parse(JSON.stringify(frame))).toMatchObject({
							ok: false,
							code: "invalid_payload",
							requestType: frame.type,
						});
					},
				),
				params,
			);
		},
		TIMEOUT_MS,
	);
});
