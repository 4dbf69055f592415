// The protocol's behaviour that is the same whether a user holds two sockets
// (/ws, then /ws/chat/:id) or one (/ws/single): the same tests, run in both
// modes through real sockets in workerd.
import { describe, expect, it } from "vitest";
import { RECEIPT_TIMEOUT_MS } from "../../src/protocol/schemas";
import { lobbyName } from "./helpers";
import { chattingPeople, MODES, Person } from "./modes";

describe.each(MODES)("%s", (mode) => {
	it("identity: a second init is refused, a resumed one keeps the user (4409 on the old socket), a forged token gets a new one", async () => {
		const name = lobbyName();
		const a = await Person.init(mode, name);
		a.send({ type: "init", payload: { user_id: a.userId, token: a.token } });
		expect(await a.expectError("already_initialized")).toMatchObject({ request_type: "init" });
		const again = await Person.init(mode, name, { user_id: a.userId, token: a.token });
		expect(again.userId).toBe(a.userId);
		expect((await a.current.closed()).code).toBe(4409);
		const wrong = `${a.token.slice(0, -1)}${a.token.endsWith("A") ? "B" : "A"}`;
		const forged = await Person.init(mode, name, { user_id: a.userId, token: wrong });
		expect(forged.userId).not.toBe(a.userId);
	});

	it("matching: preferences, shared interests, language, and the partner's gender and language", async () => {
		const name = lobbyName();
		const a = await Person.init(mode, name);
		a.join({ gender: "female", preference: "female", interests: ["Chess"], language: "en" });
		await a.expect("queue_joined");
		const male = await Person.init(mode, name);
		male.join({ gender: "male", preference: "any" });
		expect(await male.expect("queue_joined")).toEqual({ waiting: 2 });
		const b = await Person.init(mode, name);
		b.join({ gender: "female", preference: "any", interests: ["chess"], language: "en" });
		await b.expect("queue_joined");
		const [inA, inB] = await Promise.all([a.enterChat(), b.enterChat()]);
		expect(inA.match.chat_id).toBe(inB.match.chat_id);
		expect(inA.match.partner).toEqual({ gender: "female", language: "en" });
		expect(inB.match.shared_interests).toEqual(["chess"]);
	});

	it("messages: relayed with client_msg_id, acked once the partner confirms, delivered", async () => {
		const { a, b, chatId } = await chattingPeople(mode, lobbyName());
		a.send({ type: "send_message", payload: { content: "  hello  ", client_msg_id: "m-1", chat_id: chatId } });
		const got = await b.expect("message_received");
		expect(got).toMatchObject({ chat_id: chatId, content: "hello", client_msg_id: "m-1" });
		b.send({ type: "received", payload: { up_to: got.message_id } });
		expect(await a.expect("message_sent")).toMatchObject({ message_id: got.message_id, client_msg_id: "m-1" });
		expect(await a.expect("message_delivered")).toEqual({ chat_id: chatId, up_to: got.message_id });
	});

	it("messages: a partner that never confirms delays the ack by at most the receipt timeout", async () => {
		const { a, b } = await chattingPeople(mode, lobbyName());
		const sent = Date.now();
		a.send({ type: "send_message", payload: { content: "anyone?" } });
		await b.expect("message_received");
		await a.expect("message_sent", RECEIPT_TIMEOUT_MS + 4_000);
		expect(Date.now() - sent).toBeGreaterThanOrEqual(RECEIPT_TIMEOUT_MS - 50);
	});

	it("typing is relayed; bad payloads get errors and the socket stays open", async () => {
		const { a, b } = await chattingPeople(mode, lobbyName());
		a.send({ type: "typing", payload: { is_typing: true } });
		expect(await b.expect("partner_typing")).toEqual({ is_typing: true });
		a.send({ type: "send_message", payload: { content: "   " } });
		expect(await a.expectError("invalid_payload")).toMatchObject({ request_type: "send_message" });
		a.send("not json");
		await a.expectError("bad_frame");
		a.send({ type: "ping" });
		await a.expect("pong");
		expect(a.current.isClosed).toBe(false);
	});

	it("rate limits: a burst past the chat's limit is refused with rate_limited", async () => {
		const { a, b } = await chattingPeople(mode, lobbyName());
		for (let i = 0; i < 14; i++) a.send({ type: "send_message", payload: { content: `m${i}` } });
		const refused = await a.waitFor("error");
		expect(refused).toMatchObject({ code: "rate_limited", request_type: "send_message" });
		expect(refused.retry_after_ms).toBeGreaterThan(0);
		expect(await b.expect("message_received")).toMatchObject({ content: "m0" });
	});

	it("resume: back in the chat after a drop, with every message after the one it had", async () => {
		const { a, b } = await chattingPeople(mode, lobbyName());
		a.send({ type: "send_message", payload: { content: "one" } });
		const first = await b.expect("message_received");
		b.send({ type: "received", payload: { up_to: first.message_id } });
		b.close();
		await a.waitFor("partner_status");
		a.send({ type: "send_message", payload: { content: "two" } });
		await a.waitFor("message_sent");
		const joined = await b.reconnect(first.message_id);
		expect(joined.partner_online).toBe(true);
		expect(await b.expect("message_received")).toMatchObject({ content: "two" });
	});

	it("the end: leave_chat ends it for both, the next stranger comes, never the last one", async () => {
		const name = lobbyName();
		const { a, b, chatId } = await chattingPeople(mode, name);
		a.send({ type: "leave_chat" });
		expect(await a.waitFor("chat_ended")).toEqual({ chat_id: chatId, reason: "you_left" });
		expect(await b.waitFor("chat_ended")).toEqual({ chat_id: chatId, reason: "partner_left" });
		await Promise.all([a.backToLobby(), b.backToLobby()]);
		a.join();
		await a.expect("queue_joined");
		b.join();
		expect(await b.expect("queue_joined")).toEqual({ waiting: 2 });
		const c = await Person.init(mode, name);
		c.join();
		await c.expect("queue_joined");
		const [inA, inC] = await Promise.all([a.enterChat(), c.enterChat()]);
		expect(inA.match.chat_id).toBe(inC.match.chat_id);
	});

	it("reports: in the chat it ends it; after it ended, on the lobby, it is acknowledged", async () => {
		const name = lobbyName();
		const first = await chattingPeople(mode, name);
		first.a.send({ type: "report", payload: { reason: "spam" } });
		expect(await first.a.waitFor("chat_ended")).toMatchObject({ reason: "you_reported" });
		expect(await first.b.waitFor("chat_ended")).toMatchObject({ reason: "partner_left" });
		const second = await chattingPeople(mode, name);
		second.a.send({ type: "leave_chat" });
		await second.b.waitFor("chat_ended");
		await second.b.backToLobby();
		second.b.send({ type: "report", payload: { chat_id: second.chatId, reason: "harassment" } });
		expect(await second.b.waitFor("reported")).toEqual({ chat_id: second.chatId });
	});

	it("safety: a link among the first messages is refused with link_blocked", async () => {
		const { a, b } = await chattingPeople(mode, lobbyName());
		a.send({ type: "send_message", payload: { content: "see example.com/x" } });
		expect(await a.expectError("link_blocked")).toMatchObject({ request_type: "send_message" });
		a.send({ type: "send_message", payload: { content: "no link" } });
		expect(await b.expect("message_received")).toMatchObject({ content: "no link" });
	});
});
