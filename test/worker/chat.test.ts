// The ChatRoom through real chat sockets: tickets, relay, acks, idempotency,
// held messages, grace and abandon deadlines, every chat error code.
import { runInDurableObject } from "cloudflare:test";
import { exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { Signer, TICKET_TTL_MS } from "../../src/domain/auth/signing";
import { chatStub, chattingPair, initUser, join, lobbyName, lobbyStub, openChat, openLobby } from "./helpers";

/** The SECRET binding of the workers project (vitest.config.ts). */
const TEST_SECRET = "vitest-only-secret-0123456789abcdef0123456789";

async function matched(name = lobbyName()) {
	const a = await initUser(name);
	const b = await initUser(name);
	join(a);
	join(b);
	const ma = await a.lobby.waitFor("match_found");
	const mb = await b.lobby.waitFor("match_found");
	return { name, a, b, ma, mb };
}

describe("tickets", () => {
	it("a missing, forged, altered or foreign ticket is refused with 4401", async () => {
		const { ma } = await matched();
		const base = `http://127.0.0.1:8787/ws/chat/${ma.chat_id}`;
		const other = await matched();
		const forged = await new Signer("not-the-secret-but-just-as-long-0123456789abcdef").ticket({
			c: ma.chat_id,
			u: "aaaaaaaaaaaaaaaa",
			p: "bbbbbbbbbbbbbbbb",
			m: Date.now(),
			e: Date.now() + TICKET_TTL_MS,
			l: "global",
		});
		for (const url of [
			base,
			`${base}?ticket=`,
			`${base}?ticket=${forged}`,
			`${base}?ticket=${ma.ticket}x`,
			`${base}?ticket=${other.ma.ticket}`,
			`http://127.0.0.1:8787/ws/chat/${other.ma.chat_id}?ticket=${ma.ticket}`,
			`http://127.0.0.1:8787/ws/chat/not-a-chat?ticket=${ma.ticket}`,
		]) {
			const socket = await openChat(url);
			expect((await socket.closed()).code, url).toBe(4401);
		}
		// The genuine ticket still works.
		const chat = await openChat(ma.chat_url);
		await chat.expect("chat_joined");
	});

	it("a genuine ticket naming a third user is refused", async () => {
		const { ma } = await matched();
		const signer = new Signer(TEST_SECRET);
		const intruder = await signer.ticket({
			c: ma.chat_id,
			u: "cccccccccccccccc",
			p: "dddddddddddddddd",
			m: Date.now(),
			e: Date.now() + TICKET_TTL_MS,
			l: "global",
		});
		const first = await openChat(ma.chat_url);
		await first.expect("chat_joined");
		const socket = await openChat(`http://127.0.0.1:8787/ws/chat/${ma.chat_id}?ticket=${intruder}`);
		expect((await socket.closed()).code).toBe(4401);
	});

	it("an expired ticket is refused", async () => {
		const { ma } = await matched();
		const expired = await new Signer(TEST_SECRET).ticket({
			c: ma.chat_id,
			u: "aaaaaaaaaaaaaaaa",
			p: "bbbbbbbbbbbbbbbb",
			m: Date.now() - 1000,
			e: Date.now() - 1,
			l: "global",
		});
		const socket = await openChat(`http://127.0.0.1:8787/ws/chat/${ma.chat_id}?ticket=${expired}`);
		expect((await socket.closed()).code).toBe(4401);
	});

	it.each(["x", "-1", "1e3", " 5", "1.5", "0x10"])("after=%s is an HTTP 400", async (after) => {
		const { ma } = await matched();
		const url = `http://127.0.0.1:8787/ws/chat/${ma.chat_id}?ticket=${ma.ticket}&after=${encodeURIComponent(after)}`;
		const res = await exports.default.fetch(url, { headers: { Upgrade: "websocket" } });
		expect(res.status).toBe(400);
	});
});

describe("relay", () => {
	it("message ids count 1, 2, 3 across both senders; content is trimmed and kept as text", async () => {
		const { a, b, chatId } = await chattingPair();
		const tricky = '<img src=x onerror=alert(1)> "quotes" \\ 🦩 مرحبا';
		a.chat.send({ type: "send_message", payload: { content: `  ${tricky}  `, chat_id: chatId } });
		expect(await a.chat.expect("message_sent")).toMatchObject({ chat_id: chatId, message_id: 1 });
		expect(await b.chat.expect("message_received")).toMatchObject({ message_id: 1, content: tricky });
		b.chat.send({ type: "send_message", payload: { content: "two" } });
		expect((await b.chat.expect("message_sent")).message_id).toBe(2);
		expect((await a.chat.expect("message_received")).message_id).toBe(2);
		a.chat.send({ type: "send_message", payload: { content: "three" } });
		const sent = await a.chat.expect("message_sent");
		const got = await b.chat.expect("message_received");
		expect(sent.message_id).toBe(3);
		expect(got.sent_at).toBe(sent.sent_at);
		expect(sent.client_msg_id).toBeUndefined();
	});

	it("the same client_msg_id twice is delivered once and acked twice with the same id", async () => {
		const { a, b } = await chattingPair();
		const msg = { type: "send_message", payload: { content: "once", client_msg_id: "m-1" } };
		a.chat.send(msg);
		a.chat.send(msg);
		const first = await a.chat.expect("message_sent");
		const second = await a.chat.expect("message_sent");
		expect(second).toEqual(first);
		expect(first.client_msg_id).toBe("m-1");
		await b.chat.expect("message_received");
		a.chat.send({ type: "send_message", payload: { content: "next", client_msg_id: "m-2" } });
		expect((await a.chat.expect("message_sent")).message_id).toBe(2);
		const next = await b.chat.expect("message_received");
		expect(next).toMatchObject({ message_id: 2, content: "next" });
		// The partner may use the same client_msg_id for a message of its own.
		b.chat.send(msg);
		expect((await b.chat.expect("message_sent")).message_id).toBe(3);
	});

	it("typing is relayed to the partner", async () => {
		const { a, b } = await chattingPair();
		a.chat.send({ type: "typing", payload: { is_typing: true } });
		expect(await b.chat.expect("partner_typing")).toEqual({ is_typing: true });
		a.chat.send({ type: "typing", payload: { is_typing: false } });
		expect(await b.chat.expect("partner_typing")).toEqual({ is_typing: false });
		expect(a.chat.unread).toEqual([]);
	});

	it("chat errors: wrong_chat, message_too_long, invalid_payload, unknown_type, bad_frame; socket stays open", async () => {
		const { a } = await chattingPair();
		a.chat.send({ type: "send_message", payload: { content: "hi", chat_id: "f".repeat(32) } });
		expect((await a.chat.expectError("wrong_chat")).request_type).toBe("send_message");
		a.chat.send({ type: "send_message", payload: { content: "x".repeat(2001) } });
		await a.chat.expectError("message_too_long");
		a.chat.send({ type: "send_message", payload: { content: "   " } });
		await a.chat.expectError("invalid_payload");
		a.chat.send({ type: "join_queue", payload: { gender: "male", preference: "any" } });
		await a.chat.expectError("unknown_type");
		a.chat.ws.send(new Uint8Array([0]));
		await a.chat.expectError("bad_frame");
		a.chat.send({ type: "ping" });
		await a.chat.expect("pong");
		a.chat.send({ type: "send_message", payload: { content: "still here" } });
		expect((await a.chat.expect("message_sent")).message_id).toBe(1);
	});

	it("5 messages/s with bursts of 10: the 11th is rate_limited; pushing on closes with 1008", async () => {
		const { a, b } = await chattingPair();
		for (let i = 0; i < 11; i++) a.chat.send({ type: "send_message", payload: { content: `m${i}` } });
		// The refusal is immediate; the acks wait for b's receipts, which this client never sends (1 s).
		const err = await a.chat.expectError("rate_limited");
		expect(err.retry_after_ms).toBeGreaterThan(0);
		for (let i = 1; i <= 10; i++) expect((await a.chat.expect("message_sent")).message_id).toBe(i);
		for (let i = 1; i <= 10; i++) expect((await b.chat.expect("message_received")).message_id).toBe(i);
		for (let i = 0; i < 30; i++) a.chat.send({ type: "send_message", payload: { content: "spam" } });
		expect((await a.chat.closed()).code).toBe(1008);
		expect(await b.chat.waitFor("partner_status")).toEqual({ online: false });
	});
});

describe("ending", () => {
	it("leave_chat: you_left and partner_left, sockets closed, state deleted, lobby told", async () => {
		const name = lobbyName();
		const { a, b, chatId } = await chattingPair(name);
		a.chat.send({ type: "send_message", payload: { content: "bye" } });
		await a.chat.expect("message_sent");
		b.chat.send({ type: "leave_chat" });
		expect(await b.chat.waitFor("chat_ended")).toEqual({ chat_id: chatId, reason: "you_left" });
		expect(await a.chat.expect("chat_ended")).toEqual({ chat_id: chatId, reason: "partner_left" });
		expect((await a.chat.closed()).code).toBe(1000);
		expect((await b.chat.closed()).code).toBe(1000);
		expect((await lobbyStub(name).stats()).active_chats).toBe(0);
		const keys = await runInDurableObject(chatStub(chatId), (_room, state) => {
			const tables = state.storage.sql
				.exec("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE '\\_%' ESCAPE '\\'")
				.toArray();
			return { tables, messages: tables.length };
		});
		expect(keys.tables).toEqual([]);
	});

	it("a ticket of an ended chat no longer opens it", async () => {
		const { a } = await chattingPair();
		a.chat.send({ type: "leave_chat" });
		await a.chat.expect("chat_ended");
		const again = await openChat(a.chatUrl);
		expect((await again.closed()).code).toBe(4401);
	});

	it("report: you_reported to the reporter, partner_left to the other", async () => {
		const { a, b, chatId } = await chattingPair();
		b.chat.send({ type: "report", payload: { reason: "spam" } });
		expect(await b.chat.expect("chat_ended")).toEqual({ chat_id: chatId, reason: "you_reported" });
		expect(await a.chat.expect("chat_ended")).toEqual({ chat_id: chatId, reason: "partner_left" });
	});

	it("after chat_ended both can queue again at once (no in_chat)", async () => {
		const name = lobbyName();
		const { a } = await chattingPair(name);
		a.chat.send({ type: "leave_chat" });
		await a.chat.expect("chat_ended");
		const back = await initUser(name, { user_id: a.userId, token: a.token });
		join(back);
		expect(await back.lobby.expect("queue_joined")).toEqual({ waiting: 1 });
	});

	it("abandoned when nobody joins within the window: the users may queue again", async () => {
		const { name, a } = await matched();
		await a.lobby.closed();
		// a reloads meanwhile: a lobby socket again, told where its chat is.
		const reloaded = await openLobby(name);
		reloaded.send({ type: "init", payload: { user_id: a.userId, token: a.token } });
		expect((await reloaded.expect("ready")).chat).toBeDefined();
		const stub = lobbyStub(name);
		expect(await stub.stats()).toMatchObject({ online: 2, active_chats: 1 });
		// The Matchmaker's alarm drops the chat that never started.
		const deadline = Date.now() + 8_000;
		while ((await stub.stats()).active_chats !== 0) {
			if (Date.now() > deadline) throw new Error("chat never abandoned");
			await new Promise((r) => setTimeout(r, 100));
		}
		// Presence follows: a is online in the lobby, nobody is chatting.
		expect(await stub.stats()).toMatchObject({ online: 1, waiting: 0, chatting: 0, active_chats: 0 });
		join({ lobby: reloaded, userId: a.userId, token: a.token });
		expect(await reloaded.expect("queue_joined")).toEqual({ waiting: 1 });
	});

	it("abandoned when only one side joins within the window", async () => {
		const { ma } = await matched();
		const chat = await openChat(ma.chat_url);
		expect(await chat.expect("chat_joined")).toMatchObject({ partner_online: false });
		expect(await chat.expect("chat_ended", 5_000)).toEqual({ chat_id: ma.chat_id, reason: "abandoned" });
	});
});

describe("offline partner", () => {
	it("messages are held while the partner is away and delivered when it returns", async () => {
		const name = lobbyName();
		const { a, b, chatId } = await chattingPair(name);
		b.chat.close();
		expect(await a.chat.expect("partner_status")).toEqual({ online: false });
		a.chat.send({ type: "send_message", payload: { content: "are you there?" } });
		expect((await a.chat.expect("message_sent")).message_id).toBe(1);
		// A reload: back to the lobby, where ready.chat carries a fresh ticket.
		const lobby = await openLobby(name);
		lobby.send({ type: "init", payload: { user_id: b.userId, token: b.token } });
		const ready = await lobby.expect("ready");
		expect(ready.resumed).toBe(true);
		expect(ready.chat?.chat_id).toBe(chatId);
		lobby.close();
		const again = await openChat(ready.chat?.chat_url ?? "");
		expect(await again.expect("chat_joined")).toEqual({ chat_id: chatId, partner_online: true });
		expect(await again.expect("message_received")).toMatchObject({ message_id: 1, content: "are you there?" });
		expect(await a.chat.expect("partner_status")).toEqual({ online: true });
	});

	it("after=N resends everything past N, even what was already written to the old socket", async () => {
		const { a, b } = await chattingPair();
		for (const content of ["one", "two", "three"]) a.chat.send({ type: "send_message", payload: { content } });
		for (let i = 1; i <= 3; i++) await b.chat.expect("message_received");
		b.chat.close();
		expect(await a.chat.waitFor("partner_status")).toEqual({ online: false });
		const again = await openChat(b.chatUrl, 1);
		await again.expect("chat_joined");
		expect((await again.expect("message_received")).content).toBe("two");
		expect((await again.expect("message_received")).content).toBe("three");
		a.chat.send({ type: "send_message", payload: { content: "four" } });
		expect((await again.expect("message_received")).message_id).toBe(4);
	});

	it("a reconnect replaces the old chat socket (4409) without telling the partner it left", async () => {
		const { a, b } = await chattingPair();
		const again = await openChat(b.chatUrl);
		await again.expect("chat_joined");
		expect((await b.chat.closed()).code).toBe(4409);
		expect(await a.chat.expect("partner_status")).toEqual({ online: true });
		a.chat.send({ type: "send_message", payload: { content: "hi" } });
		expect((await again.expect("message_received")).content).toBe("hi");
		expect(a.chat.unread.filter((e) => e.type === "partner_status")).toEqual([]);
	});

	it("partner_disconnected when the partner stays away past the grace period", async () => {
		const { a, b, chatId } = await chattingPair();
		b.chat.close();
		expect(await a.chat.expect("partner_status")).toEqual({ online: false });
		expect(await a.chat.expect("chat_ended", 5_000)).toEqual({ chat_id: chatId, reason: "partner_disconnected" });
	});
});
