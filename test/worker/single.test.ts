// `/ws/single` (PROTOCOL.md "One socket for everything"): the whole protocol
// over one socket, bridged by the Worker to the lobby and the chat's object.
// Most tests run the bridge against their own Matchmaker (openSingle(name));
// the walk-through and the route checks go through the Worker's real route.
import { exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { singleSocket } from "../../src/server/single-bridge";
import { chatStub, initSingle, lobbyName, lobbyStub, openSingle, type SingleUser, TestSocket } from "./helpers";
import { chattingPeople } from "./modes";

function joinQueue(user: SingleUser, gender = "other", preference = "any"): void {
	user.ws.send({ type: "join_queue", payload: { gender, preference } });
}

/** The first `partner_status` saying `online` (an earlier one from joining may come first). */
async function partnerStatus(ws: TestSocket, online: boolean): Promise<void> {
	for (;;) if ((await ws.waitFor("partner_status")).online === online) return;
}

/** Two users of `/ws/single` queued one after the other and matched: both have read `match_found`. */
async function matchedSingles(name: string) {
	const a = await initSingle(name);
	const b = await initSingle(name);
	joinQueue(a);
	await a.ws.expect("queue_joined");
	joinQueue(b);
	await b.ws.expect("queue_joined");
	const [ma, mb] = await Promise.all([a.ws.expect("match_found"), b.ws.expect("match_found")]);
	return { a, b, ma, mb };
}

describe("/ws/single: the original walk-through on one socket per user", () => {
	it("init, queue, match, messages, receipts, typing, leave, and a second stranger without a new init", async () => {
		const a = await initSingle();
		const b = await initSingle();
		expect(a.userId).toMatch(/^[0-9a-f]{16}$/);
		joinQueue(a, "male", "female");
		expect(await a.ws.expect("queue_joined")).toMatchObject({ waiting: expect.any(Number) });
		joinQueue(b, "female", "male");
		await b.ws.expect("queue_joined");
		const ma = await a.ws.expect("match_found");
		const mb = await b.ws.expect("match_found");
		expect(ma.chat_id).toBe(mb.chat_id);
		expect(ma.partner).toMatchObject({ gender: "female" });
		const chatId = ma.chat_id;
		// The lobby's 1000 "matched" is the bridge's business: the socket stays open, in the chat.
		expect(await a.ws.expect("chat_joined")).toMatchObject({ chat_id: chatId });
		expect(await b.ws.expect("chat_joined")).toMatchObject({ chat_id: chatId });
		expect(a.ws.isClosed).toBe(false);

		a.ws.send({ type: "send_message", payload: { content: "hello 🦩", client_msg_id: "c1", chat_id: chatId } });
		const got = await b.ws.waitFor("message_received");
		expect(got).toMatchObject({ chat_id: chatId, message_id: 1, content: "hello 🦩" });
		b.ws.send({ type: "received", payload: { up_to: 1 } });
		expect(await a.ws.waitFor("message_sent")).toMatchObject({ chat_id: chatId, message_id: 1, client_msg_id: "c1" });
		expect(await a.ws.waitFor("message_delivered")).toEqual({ chat_id: chatId, up_to: 1 });

		b.ws.send({ type: "typing", payload: { is_typing: true } });
		expect(await a.ws.waitFor("partner_typing")).toEqual({ is_typing: true });

		b.ws.send({ type: "leave_chat" });
		expect(await b.ws.waitFor("chat_ended")).toEqual({ chat_id: chatId, reason: "you_left" });
		expect(await a.ws.waitFor("chat_ended")).toEqual({ chat_id: chatId, reason: "partner_left" });

		// Back in the lobby, still initialised: join_queue with no init, and a new stranger.
		joinQueue(a, "male", "female");
		await a.ws.expect("queue_joined");
		const c = await initSingle();
		joinQueue(c, "female", "male");
		await c.ws.expect("queue_joined");
		const second = await a.ws.expect("match_found");
		expect(second.chat_id).not.toBe(chatId);
		expect((await c.ws.expect("match_found")).chat_id).toBe(second.chat_id);
		expect(await a.ws.expect("chat_joined")).toMatchObject({ chat_id: second.chat_id });
		c.ws.send({ type: "send_message", payload: { content: "hi again" } });
		expect(await a.ws.waitFor("message_received")).toMatchObject({ chat_id: second.chat_id, content: "hi again" });
		for (const s of [a.ws, b.ws, c.ws]) s.close();
	});

	it("nothing is lost or reordered when both send right after match_found", async () => {
		const { a, b, ma } = await matchedSingles(lobbyName());
		// Sent before chat_joined: the bridge holds them while it opens the chat socket.
		for (let i = 1; i <= 5; i++) {
			a.ws.send({ type: "send_message", payload: { content: `a${i}`, client_msg_id: `a${i}`, chat_id: ma.chat_id } });
			b.ws.send({ type: "send_message", payload: { content: `b${i}`, client_msg_id: `b${i}` } });
		}
		const gotB: string[] = [];
		const gotA: string[] = [];
		while (gotB.length < 5) gotB.push((await b.ws.waitFor("message_received")).content);
		while (gotA.length < 5) gotA.push((await a.ws.waitFor("message_received")).content);
		expect(gotB).toEqual(["a1", "a2", "a3", "a4", "a5"]);
		expect(gotA).toEqual(["b1", "b2", "b3", "b4", "b5"]);
		a.ws.close();
		b.ws.close();
	});
});

describe("/ws/single: identity", () => {
	it("resumes into a live chat with init {user_id, token, after}", async () => {
		const name = lobbyName();
		const { a, b, chatId } = await chattingPeople("one socket", name);
		for (const text of ["one", "two", "three"]) b.send({ type: "send_message", payload: { content: text } });
		for (let i = 1; i <= 3; i++) expect((await a.waitFor("message_received")).message_id).toBe(i);
		a.send({ type: "received", payload: { up_to: 1 } });
		// The client's socket drops: its chat socket goes with it, the partner hears so.
		a.current.close(1000, "reload");
		await partnerStatus(b.current, false);
		b.send({ type: "send_message", payload: { content: "four" } });
		await b.waitFor("message_sent");

		const back = await openSingle(name);
		back.send({ type: "init", payload: { user_id: a.userId, token: a.token, after: 1 } });
		const ready = await back.expect("ready");
		expect(ready).toMatchObject({ user_id: a.userId, resumed: true, chat: { chat_id: chatId } });
		expect(await back.expect("chat_joined")).toEqual({ chat_id: chatId, partner_online: true });
		const again: string[] = [];
		while (again.length < 3) again.push((await back.waitFor("message_received")).content);
		expect(again).toEqual(["two", "three", "four"]);
		await partnerStatus(b.current, true);
		back.send({ type: "send_message", payload: { content: "I am back" } });
		expect(await b.waitFor("message_received")).toMatchObject({ content: "I am back" });
		back.close();
		b.close();
	});

	it("a second /ws/single of the same user replaces the first (4409)", async () => {
		const name = lobbyName();
		const first = await initSingle(name);
		const second = await initSingle(name, { user_id: first.userId, token: first.token });
		expect(second.userId).toBe(first.userId);
		expect(await first.ws.closed()).toEqual({ code: 4409, reason: "replaced by a newer connection" });
		second.ws.send({ type: "join_queue", payload: { gender: "other", preference: "any" } });
		await second.ws.expect("queue_joined");
		second.ws.close();
	});

	it("a second /ws/single of a user in a chat takes the chat over (4409 on the old)", async () => {
		const name = lobbyName();
		const { a, b, chatId } = await chattingPeople("one socket", name);
		const again = await initSingle(name, { user_id: a.userId, token: a.token });
		expect(await again.ws.expect("chat_joined")).toMatchObject({ chat_id: chatId });
		expect(await a.current.closed()).toEqual({ code: 4409, reason: "replaced by a newer connection" });
		b.send({ type: "send_message", payload: { content: "still there?" } });
		expect(await again.ws.waitFor("message_received")).toMatchObject({ content: "still there?" });
		again.ws.close();
		b.close();
	});

	it("init's after must be a non-negative integer", async () => {
		const ws = await openSingle(lobbyName());
		for (const after of [-1, 1.5, "3", null]) {
			ws.send({ type: "init", payload: { after } });
			expect(await ws.expectError("invalid_payload")).toMatchObject({ request_type: "init" });
		}
		ws.send({ type: "init", payload: { after: 0 } });
		expect(await ws.expect("ready")).toMatchObject({ resumed: false });
		ws.close();
	});
});

describe("/ws/single: events on the wrong side", () => {
	it("lobby-only events in a chat get the lobby's answers", async () => {
		const { a, b } = await chattingPeople("one socket", lobbyName());
		a.send({ type: "init", payload: {} });
		expect(await a.expectError("already_initialized")).toMatchObject({ request_type: "init" });
		a.send({ type: "join_queue", payload: { gender: "other", preference: "any" } });
		expect(await a.waitFor("error")).toMatchObject({ code: "in_chat", request_type: "join_queue" });
		a.send({ type: "join_queue", payload: { gender: "robot" } });
		expect(await a.expectError("invalid_payload")).toMatchObject({ request_type: "join_queue" });
		a.send({ type: "leave_queue" });
		expect(await a.expectError("not_queued")).toMatchObject({ request_type: "leave_queue" });
		a.send({ type: "solve", payload: { nonce: "n", solution: "s" } });
		expect(await a.expectError("invalid_solution")).toMatchObject({ request_type: "solve" });
		// The chat goes on.
		a.send({ type: "send_message", payload: { content: "fine" } });
		expect(await b.waitFor("message_received")).toMatchObject({ content: "fine" });
		a.close();
		b.close();
	});

	it("chat-only events in the lobby get unknown_type, as on /ws", async () => {
		const { ws } = await initSingle(lobbyName());
		for (const type of ["send_message", "typing", "received", "leave_chat"]) {
			ws.send({ type, payload: {} });
			expect(await ws.expectError("unknown_type")).toMatchObject({ request_type: type });
		}
		ws.send({ type: "ping" });
		await ws.expect("pong");
		ws.close();
	});
});

describe("/ws/single: limits, reports and closes", () => {
	it("a rate-limit refusal of the chat passes through", async () => {
		const { a, b } = await chattingPeople("one socket", lobbyName());
		for (let i = 0; i < 14; i++) a.send({ type: "send_message", payload: { content: `m${i}` } });
		const refused = await a.waitFor("error");
		expect(refused).toMatchObject({ code: "rate_limited", request_type: "send_message" });
		expect(refused.retry_after_ms).toBeGreaterThan(0);
		expect(a.current.isClosed).toBe(false);
		a.close();
		b.close();
	});

	it("report in a chat ends it; report after it ended goes to the lobby", async () => {
		const { a, b, chatId } = await chattingPeople("one socket", lobbyName());
		a.send({ type: "report", payload: { reason: "spam", chat_id: chatId } });
		expect(await a.waitFor("chat_ended")).toEqual({ chat_id: chatId, reason: "you_reported" });
		expect(await b.waitFor("chat_ended")).toEqual({ chat_id: chatId, reason: "partner_left" });
		// b is back in the lobby on the same socket and reports the partner who left.
		b.send({ type: "report", payload: { chat_id: chatId, reason: "harassment" } });
		expect(await b.waitFor("reported")).toEqual({ chat_id: chatId });
		a.close();
		b.close();
	});

	it("an upstream's own close reaches the client with its code (1009 for a frame too big)", async () => {
		const { a, b } = await chattingPeople("one socket", lobbyName());
		a.send({ type: "send_message", payload: { content: "x".repeat(70 * 1024) } });
		expect(await a.current.closed()).toEqual({ code: 1009, reason: "message too big" });
		await partnerStatus(b.current, false);
		b.close();
	});

	it("an upstream that cannot be opened closes the client with 1011", async () => {
		const url = "http://127.0.0.1:8787/ws/single";
		const failing = { fetch: () => Promise.reject(new Error("object unavailable")) };
		const noLobby = await singleSocket(new Request(url, { headers: { Upgrade: "websocket" } }), {
			lobby: () => failing,
			chat: chatStub,
		});
		expect((await new TestSocket(noLobby.webSocket as WebSocket).closed()).code).toBe(1011);

		const name = lobbyName();
		const open = (chat: (id: string) => { fetch(r: Request): Promise<Response> }) =>
			singleSocket(new Request(url, { headers: { Upgrade: "websocket" } }), { lobby: () => lobbyStub(name), chat });
		const a = new TestSocket((await open(() => failing)).webSocket as WebSocket);
		const b = new TestSocket((await open(chatStub)).webSocket as WebSocket);
		a.send({ type: "init" });
		await a.expect("ready");
		b.send({ type: "init" });
		await b.expect("ready");
		a.send({ type: "join_queue", payload: { gender: "other", preference: "any" } });
		b.send({ type: "join_queue", payload: { gender: "other", preference: "any" } });
		await a.waitFor("match_found");
		expect(await a.closed()).toEqual({ code: 1011, reason: "internal error" });
		b.close();
	});

	it("the route: 426 without an upgrade, 403 for a foreign Origin", async () => {
		const plain = await exports.default.fetch("http://127.0.0.1:8787/ws/single");
		expect(plain.status).toBe(426);
		const foreign = await exports.default.fetch("http://127.0.0.1:8787/ws/single", {
			headers: { Upgrade: "websocket", Origin: "https://evil.example" },
		});
		expect(foreign.status).toBe(403);
	});
});
