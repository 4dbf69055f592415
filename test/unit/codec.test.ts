import { describe, expect, it } from "vitest";
import {
	build,
	buildError,
	PING_FRAME,
	PONG_FRAME,
	parseChat,
	parseLobby,
	parseServer,
} from "../../src/protocol/codec";
import { MAX_FRAME_BYTES } from "../../src/protocol/schemas";

const frame = (type: string, payload?: unknown) => JSON.stringify(payload === undefined ? { type } : { type, payload });

function codeOf(result: ReturnType<typeof parseLobby> | ReturnType<typeof parseChat>): string {
	return result.ok ? "ok" : result.code;
}

describe("envelope", () => {
	it("binary frames are bad_frame", () => {
		expect(codeOf(parseLobby(new ArrayBuffer(4)))).toBe("bad_frame");
		expect(codeOf(parseChat(new Uint8Array([123, 125])))).toBe("bad_frame");
	});

	it("frames over 16 KiB are bad_frame, measured in UTF-8 bytes", () => {
		const pad = (n: number) => JSON.stringify({ type: "ping", payload: { pad: "x".repeat(n) } });
		const base = pad(0).length;
		expect(codeOf(parseLobby(pad(MAX_FRAME_BYTES - base)))).toBe("ok");
		expect(codeOf(parseLobby(pad(MAX_FRAME_BYTES - base + 1)))).toBe("bad_frame");
		// 3 bytes per "€": a frame short in UTF-16 units can still be too big.
		const euros = JSON.stringify({ type: "ping", payload: { pad: "€".repeat(6000) } });
		expect(euros.length).toBeLessThan(MAX_FRAME_BYTES);
		expect(codeOf(parseLobby(euros))).toBe("bad_frame");
	});

	it.each([
		["not JSON", "hello"],
		["truncated JSON", '{"type":"ping"'],
		["a JSON array", '["ping"]'],
		["a JSON string", '"ping"'],
		["null", "null"],
		["no type", '{"payload":{}}'],
		["a numeric type", '{"type":5}'],
		["an inherited type", '{"__proto__":{"type":"ping"}}'],
	])("%s is bad_frame", (_name, text) => {
		expect(codeOf(parseLobby(text))).toBe("bad_frame");
		expect(codeOf(parseChat(text))).toBe("bad_frame");
	});

	it("unknown types are unknown_type, with request_type", () => {
		const r = parseLobby(frame("dance"));
		expect(r).toMatchObject({ ok: false, code: "unknown_type", requestType: "dance" });
		// Chat events are unknown on the lobby socket and the other way round.
		expect(codeOf(parseLobby(frame("send_message", { content: "hi" })))).toBe("unknown_type");
		expect(codeOf(parseChat(frame("join_queue", { gender: "male", preference: "any" })))).toBe("unknown_type");
		expect(codeOf(parseChat(frame("init")))).toBe("unknown_type");
		expect(codeOf(parseLobby(frame("constructor")))).toBe("unknown_type");
		expect(codeOf(parseLobby(frame("toString")))).toBe("unknown_type");
	});

	it("payload may be omitted; a non-object payload is invalid_payload", () => {
		expect(parseLobby(frame("ping"))).toEqual({ ok: true, event: { type: "ping", payload: {} } });
		expect(parseLobby(frame("init"))).toEqual({ ok: true, event: { type: "init", payload: {} } });
		expect(codeOf(parseLobby(frame("init", [])))).toBe("invalid_payload");
		expect(codeOf(parseLobby(frame("init", "x")))).toBe("invalid_payload");
		expect(codeOf(parseLobby(frame("init", 3)))).toBe("invalid_payload");
	});

	it("the exact ping frame the runtime auto-answers is a valid ping", () => {
		expect(parseLobby(PING_FRAME)).toEqual({ ok: true, event: { type: "ping", payload: {} } });
		expect(parseServer(PONG_FRAME)).toEqual({ ok: true, event: { type: "pong", payload: {} } });
	});
});

describe("lobby payloads", () => {
	it("init takes optional user_id and token; unknown fields are ignored", () => {
		const r = parseLobby(frame("init", { user_id: "", token: "t", extra: 1 }));
		expect(r).toEqual({ ok: true, event: { type: "init", payload: { user_id: "", token: "t" } } });
		expect(codeOf(parseLobby(frame("init", { user_id: 42 })))).toBe("invalid_payload");
	});

	it("join_queue checks gender and preference", () => {
		expect(codeOf(parseLobby(frame("join_queue", { gender: "male", preference: "any" })))).toBe("ok");
		expect(codeOf(parseLobby(frame("join_queue", { gender: "any", preference: "any" })))).toBe("invalid_payload");
		expect(codeOf(parseLobby(frame("join_queue", { gender: "male" })))).toBe("invalid_payload");
		expect(codeOf(parseLobby(frame("join_queue", { gender: "Male", preference: "any" })))).toBe("invalid_payload");
	});

	it("interests are trimmed, lower-cased and de-duplicated; at most 5 of 1–32 characters", () => {
		const r = parseLobby(
			frame("join_queue", { gender: "other", preference: "any", interests: [" Music ", "music", "ART"] }),
		);
		expect(r).toEqual({
			ok: true,
			event: {
				type: "join_queue",
				payload: { gender: "other", preference: "any", interests: ["music", "art"], age_band: "adult" },
			},
		});
		const join = (interests: unknown) =>
			codeOf(parseLobby(frame("join_queue", { gender: "male", preference: "any", interests })));
		expect(join(["a", "b", "c", "d", "e"])).toBe("ok");
		expect(join(["a", "b", "c", "d", "e", "f"])).toBe("invalid_payload");
		expect(join(["x".repeat(32)])).toBe("ok");
		expect(join(["🦩".repeat(32)])).toBe("ok");
		expect(join(["x".repeat(33)])).toBe("invalid_payload");
		expect(join(["   "])).toBe("invalid_payload");
		expect(join("music")).toBe("invalid_payload");
		expect(join([1])).toBe("invalid_payload");
		expect(join(["\ud800"])).toBe("invalid_payload");
	});

	it("omitted interests mean none", () => {
		const r = parseLobby(frame("join_queue", { gender: "female", preference: "male" }));
		expect(r.ok && r.event.type === "join_queue" && r.event.payload.interests).toEqual([]);
	});
});

describe("chat payloads", () => {
	const send = (payload: unknown) => parseChat(frame("send_message", payload));

	it("content is trimmed; 1–2000 code points", () => {
		expect(send({ content: "  hi  " })).toEqual({
			ok: true,
			event: { type: "send_message", payload: { content: "hi" } },
		});
		expect(codeOf(send({ content: "x".repeat(2000) }))).toBe("ok");
		expect(codeOf(send({ content: "🦩".repeat(2000) }))).toBe("ok");
		expect(codeOf(send({ content: "x".repeat(2001) }))).toBe("message_too_long");
		expect(codeOf(send({ content: "🦩".repeat(2001) }))).toBe("message_too_long");
		expect(codeOf(send({ content: "   " }))).toBe("invalid_payload");
		expect(codeOf(send({ content: "" }))).toBe("invalid_payload");
		expect(codeOf(send({}))).toBe("invalid_payload");
		expect(codeOf(send({ content: 7 }))).toBe("invalid_payload");
		expect(codeOf(send({ content: "a\udc00b" }))).toBe("invalid_payload");
	});

	it("client_msg_id is at most 64 characters; chat_id a string", () => {
		expect(codeOf(send({ content: "a", client_msg_id: "x".repeat(64) }))).toBe("ok");
		expect(codeOf(send({ content: "a", client_msg_id: "x".repeat(65) }))).toBe("invalid_payload");
		expect(codeOf(send({ content: "a", client_msg_id: 3 }))).toBe("invalid_payload");
		expect(codeOf(send({ content: "a", chat_id: 3 }))).toBe("invalid_payload");
	});

	it("typing needs a boolean; report's reason is optional", () => {
		expect(codeOf(parseChat(frame("typing", { is_typing: true })))).toBe("ok");
		expect(codeOf(parseChat(frame("typing", { is_typing: "yes" })))).toBe("invalid_payload");
		expect(codeOf(parseChat(frame("typing")))).toBe("invalid_payload");
		expect(codeOf(parseChat(frame("report")))).toBe("ok");
		expect(codeOf(parseChat(frame("report", { reason: "spam" })))).toBe("ok");
		expect(codeOf(parseChat(frame("report", { reason: 1 })))).toBe("invalid_payload");
		expect(codeOf(parseChat(frame("leave_chat")))).toBe("ok");
	});
});

describe("building frames", () => {
	it("always sends a payload", () => {
		expect(build("queue_left", {})).toBe('{"type":"queue_left","payload":{}}');
	});

	it("errors carry code, message, request_type and retry_after_ms", () => {
		const text = buildError({ code: "rate_limited", message: "slow", requestType: "join_queue" }, 12.2);
		expect(JSON.parse(text)).toEqual({
			type: "error",
			payload: { code: "rate_limited", message: "slow", request_type: "join_queue", retry_after_ms: 13 },
		});
		expect(parseServer(text).ok).toBe(true);
	});
});

describe("never throws", () => {
	it("on a spread of hostile inputs", () => {
		const inputs: unknown[] = [
			undefined,
			null,
			42,
			{},
			[],
			"",
			"{",
			'{"type":"send_message","payload":{"content":{"toString":1}}}',
			'{"type":"init","payload":{"__proto__":{"user_id":1}}}',
			'{"type":"join_queue","payload":{"gender":"male","preference":"any","interests":{"length":9}}}',
			`{"type":"${"a".repeat(20000)}"}`,
			"\u0000",
			new Uint8Array(0),
		];
		for (const input of inputs) {
			expect(() => parseLobby(input)).not.toThrow();
			expect(() => parseChat(input)).not.toThrow();
			const r = parseChat(input);
			if (!r.ok) expect(typeof r.message).toBe("string");
		}
	});
});
