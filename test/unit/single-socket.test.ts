// The pure decisions of `/ws/single` (src/server/single-socket.ts): what a
// client frame gets in each state, and what an upstream frame moves.
import { describe, expect, it } from "vitest";
import { build } from "../../src/protocol/codec";
import {
	type ClientStep,
	chatQuery,
	initFrame,
	peekClient,
	SingleSocket,
	sendableClose,
	serverType,
} from "../../src/server/single-socket";

const CHAT = "0123456789abcdef0123456789abcdef";
const presence = { online: 1, waiting: 0, chatting: 0 };
const ready = (chat?: string) =>
	build("ready", {
		user_id: "00112233aabbccdd",
		token: "tok",
		resumed: chat !== undefined,
		presence,
		...(chat ? { chat: { chat_id: chat, ticket: "T", chat_url: `ws://x/ws/chat/${chat}?ticket=T` } } : {}),
	});
const matchFound = build("match_found", {
	chat_id: CHAT,
	ticket: "T1",
	chat_url: `ws://x/ws/chat/${CHAT}?ticket=T1`,
	partner: { gender: "other" },
	shared_interests: [],
});
const chatEnded = build("chat_ended", { chat_id: CHAT, reason: "partner_left" });
const frame = (type: string, payload?: unknown) =>
	JSON.stringify({ type, ...(payload === undefined ? {} : { payload }) });

function errorOf(step: ClientStep): unknown {
	if (step.kind !== "answer") throw new Error(`expected an answer, got ${JSON.stringify(step)}`);
	return JSON.parse(step.frame).payload;
}

/** A socket initialised and in a chat, as after match_found. */
function inChat(): SingleSocket {
	const s = new SingleSocket();
	s.fromClient(frame("init", {}));
	s.fromUpstream(ready());
	s.fromUpstream(matchFound);
	return s;
}

describe("single socket: frames", () => {
	it("peeks at a client frame only when it is a readable object with a string type", () => {
		expect(peekClient(frame("ping"))).toEqual({ type: "ping", payload: undefined });
		expect(peekClient('{"type":"init","payload":{"after":3}}')).toEqual({ type: "init", payload: { after: 3 } });
		for (const bad of ["nope", "[]", '{"type":1}', "null", new ArrayBuffer(4)]) expect(peekClient(bad)).toBeNull();
		// Over 16 KiB in UTF-8 (though fewer UTF-16 units): the upstream answers bad_frame.
		expect(peekClient(frame("send_message", { content: "é".repeat(9000) }))).toBeNull();
	});

	it("reads the type of a server frame from its prefix", () => {
		expect(serverType(matchFound)).toBe("match_found");
		expect(serverType(build("pong", {}))).toBe("pong");
		expect(serverType("garbage")).toBeNull();
	});

	it("builds the chat query with after only when given, within the ChatRoom's 15 digits", () => {
		expect(chatQuery("a+b", undefined)).toBe("ticket=a%2Bb");
		expect(chatQuery("T", 7)).toBe("ticket=T&after=7");
		expect(chatQuery("T", Number.MAX_SAFE_INTEGER)).toBe("ticket=T&after=999999999999999");
	});

	it("passes a close code on only if it may be sent", () => {
		expect(sendableClose(4409, "replaced")).toEqual({ code: 4409, reason: "replaced" });
		expect(sendableClose(1008, "r")).toEqual({ code: 1008, reason: "r" });
		expect(sendableClose(1001, "heartbeat timeout")).toEqual({ code: 1001, reason: "heartbeat timeout" });
		expect(sendableClose(1005, "")).toEqual({ code: 1000, reason: "" });
		expect(sendableClose(1006, "").code).toBe(1011);
	});
});

describe("single socket: in the lobby", () => {
	it("forwards lobby events, and holds the client's next frames until init is answered", () => {
		const s = new SingleSocket();
		expect(s.fromClient(frame("init", { after: 4 }))).toEqual({ kind: "forward", awaitsInit: true });
		expect(s.fromUpstream(ready())).toEqual({ forward: true, answeredInit: true });
		expect(s.initialised).toBe(true);
		expect(s.fromClient(frame("join_queue", { gender: "other", preference: "any" }))).toEqual({ kind: "forward" });
		expect(s.fromClient(frame("report", { chat_id: CHAT }))).toEqual({ kind: "forward" });
		expect(s.fromClient(frame("ping"))).toEqual({ kind: "forward" });
		// A second init is the lobby's to refuse (already_initialized), without holding anything.
		expect(s.fromClient(frame("init", {}))).toEqual({ kind: "forward" });
		// Anything unreadable is the lobby's too (bad_frame, unknown_type).
		expect(s.fromClient("not json")).toEqual({ kind: "forward" });
		expect(s.fromClient(frame("dance"))).toEqual({ kind: "forward" });
	});

	it("an init refused by the lobby releases the held frames", () => {
		const s = new SingleSocket();
		s.fromClient(frame("init", {}));
		const refused = build("error", { code: "internal", message: "no secret", request_type: "init" });
		expect(s.fromUpstream(refused)).toEqual({ forward: true, answeredInit: true });
		expect(s.initialised).toBe(false);
	});

	it("answers a bad after with invalid_payload for init", () => {
		const s = new SingleSocket();
		for (const after of [-1, 2.5, "3", null, 2 ** 60]) {
			expect(errorOf(s.fromClient(frame("init", { after })))).toMatchObject({
				code: "invalid_payload",
				request_type: "init",
			});
		}
	});

	it("answers chat-only events as the lobby does (unknown_type)", () => {
		const s = new SingleSocket();
		s.fromClient(frame("init", {}));
		s.fromUpstream(ready());
		for (const type of ["send_message", "typing", "received", "leave_chat"]) {
			expect(errorOf(s.fromClient(frame(type, {})))).toEqual({
				code: "unknown_type",
				message: `unknown event type "${type}"`,
				request_type: type,
			});
		}
	});

	it("match_found is forwarded and moves to the chat with its ticket", () => {
		const s = new SingleSocket();
		s.fromClient(frame("init", { after: 9 }));
		s.fromUpstream(ready());
		expect(s.fromUpstream(matchFound)).toEqual({
			forward: true,
			move: { to: "chat", chatId: CHAT, ticket: "T1" },
		});
		expect(s.phase).toBe("chat");
		expect(s.chat).toBe(CHAT);
	});

	it("a ready with a live chat is forwarded and moves to it, with the init's after", () => {
		const s = new SingleSocket();
		s.fromClient(frame("init", { user_id: "00112233aabbccdd", token: "tok", after: 3 }));
		expect(s.fromUpstream(ready(CHAT))).toEqual({
			forward: true,
			answeredInit: true,
			move: { to: "chat", chatId: CHAT, ticket: "T", after: 3 },
		});
		const plain = new SingleSocket();
		plain.fromClient(frame("init", {}));
		expect(plain.fromUpstream(ready(CHAT)).move).toEqual({ to: "chat", chatId: CHAT, ticket: "T" });
	});

	it("other frames of the lobby are forwarded untouched", () => {
		const s = new SingleSocket();
		for (const f of [build("queue_joined", { waiting: 2 }), build("pong", {}), build("reported", { chat_id: CHAT })]) {
			expect(s.fromUpstream(f)).toEqual({ forward: true });
		}
	});
});

describe("single socket: in a chat", () => {
	it("forwards chat events, report and unreadable frames to the chat", () => {
		const s = inChat();
		for (const f of [
			frame("send_message", { content: "hi", chat_id: CHAT }),
			frame("typing", { is_typing: true }),
			frame("received", { up_to: 1 }),
			frame("report", { reason: "spam" }),
			frame("leave_chat"),
			frame("ping"),
			"{",
		]) {
			expect(s.fromClient(f)).toEqual({ kind: "forward" });
		}
	});

	it("answers lobby-only events as the lobby would for a user in a chat", () => {
		const s = inChat();
		expect(errorOf(s.fromClient(frame("init", {})))).toMatchObject({
			code: "already_initialized",
			request_type: "init",
		});
		expect(errorOf(s.fromClient(frame("init", { after: -2 })))).toMatchObject({ code: "invalid_payload" });
		expect(errorOf(s.fromClient(frame("join_queue", { gender: "male", preference: "any" })))).toMatchObject({
			code: "in_chat",
			request_type: "join_queue",
		});
		expect(errorOf(s.fromClient(frame("join_queue", { gender: 7 })))).toMatchObject({
			code: "invalid_payload",
			request_type: "join_queue",
		});
		expect(errorOf(s.fromClient(frame("leave_queue")))).toMatchObject({ code: "not_queued" });
		expect(errorOf(s.fromClient(frame("solve", { nonce: "n", solution: "s" })))).toMatchObject({
			code: "invalid_solution",
			request_type: "solve",
		});
	});

	it("chat_ended is forwarded and moves back to a lobby initialised by the bridge, whose ready is swallowed", () => {
		const s = inChat();
		expect(s.fromUpstream(chatEnded)).toEqual({
			forward: true,
			move: { to: "lobby", init: initFrame({ user_id: "00112233aabbccdd", token: "tok" }) },
		});
		expect(s.phase).toBe("lobby");
		expect(s.fromUpstream(ready())).toEqual({ forward: false, answeredInit: true });
		// The client's own next ready (it sent none) would be forwarded again.
		expect(s.fromClient(frame("join_queue", { gender: "other", preference: "any" }))).toEqual({ kind: "forward" });
	});

	it("does not re-enter the chat that just ended if a late ready still names it", () => {
		const s = inChat();
		s.fromUpstream(chatEnded);
		expect(s.fromUpstream(ready(CHAT))).toEqual({ forward: false, answeredInit: true });
		expect(s.phase).toBe("lobby");
	});

	it("forwards every other chat frame, and a chat_ended of another chat changes nothing", () => {
		const s = inChat();
		const other = build("chat_ended", { chat_id: "f".repeat(32), reason: "you_left" });
		expect(s.fromUpstream(other)).toEqual({ forward: true });
		expect(s.fromUpstream(build("message_delivered", { chat_id: CHAT, up_to: 1 }))).toEqual({ forward: true });
		expect(s.phase).toBe("chat");
	});
});
