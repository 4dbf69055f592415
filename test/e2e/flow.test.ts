// The seed's flow end to end against the real `npm run dev`, with plain `ws`
// clients, exactly as /work/shared/PROTOCOL.md describes it. One server for
// the whole file; PER_IP_LIMITS is off here so the many upgrades of these
// tests never meet the per-IP limit (limits.test.ts checks it is on by default).
import * as v from "valibot";
import { describe, expect, it } from "vitest";
import { statsSchema } from "../../src/protocol/schemas";
import {
	chattingPair,
	expectChatUrl,
	expectMatchedClose,
	initUser,
	joinQueue,
	matchTwo,
	openChat,
	openLobby,
	useDevServer,
} from "./helpers";
import { CHAT_ID, USER_ID } from "./protocol";
import { connect, upgrade } from "./ws-client";

const server = useDevServer({ vars: { PER_IP_LIMITS: "off" } });

describe("HTTP endpoints", () => {
	it("GET /api/health answers 200 {ok:true}", async () => {
		const res = await fetch(`${server.baseUrl}/api/health`);
		expect(res.status).toBe(200);
		expect(await res.json()).toEqual({ ok: true });
	});

	it("GET / serves the browser app as HTML", async () => {
		const res = await fetch(`${server.baseUrl}/`);
		expect(res.status).toBe(200);
		expect(res.headers.get("content-type")).toMatch(/text\/html/);
		expect((await res.text()).toLowerCase()).toContain("<html");
	});

	it("GET /api/stats is JSON with the presence and safety counters", async () => {
		const res = await fetch(`${server.baseUrl}/api/stats`);
		expect(res.status).toBe(200);
		expect(res.headers.get("content-type")).toMatch(/application\/json/);
		// Exactly the schema's fields, each a count (a strict parse refuses any other field).
		const parsed = v.safeParse(v.strictObject(statsSchema.entries), await res.json());
		expect(parsed.issues).toBeUndefined();
	});

	it("a non-upgrade GET on /ws and /ws/chat/:id is 426", async () => {
		for (const path of ["/ws", `/ws/chat/${"0".repeat(32)}`, `/ws/chat/${"ab".repeat(16)}?ticket=x`]) {
			const res = await fetch(`${server.baseUrl}${path}`);
			await res.arrayBuffer();
			expect(res.status, path).toBe(426);
		}
	});
});

describe("lobby: init and matching", () => {
	it("init answers ready with a fresh identity", async () => {
		const lobby = await openLobby(server);
		lobby.send({ type: "init", payload: {} });
		const ready = await lobby.expect("ready");
		expect(ready.user_id).toMatch(USER_ID);
		expect(typeof ready.token).toBe("string");
		expect(ready.token.length).toBeGreaterThan(0);
		expect(ready.resumed).toBe(false);
		expect(ready.chat).toBeUndefined();
		for (const key of ["online", "waiting", "chatting"] as const) {
			expect(typeof ready.presence[key]).toBe("number");
		}
		// This socket itself is online.
		expect(ready.presence.online).toBeGreaterThanOrEqual(1);
	});

	it("init with the original client's empty user_id also creates a new identity", async () => {
		const lobby = await openLobby(server);
		lobby.send({ type: "init", payload: { user_id: "", token: "" } });
		const ready = await lobby.expect("ready");
		expect(ready.user_id).toMatch(USER_ID);
		expect(ready.resumed).toBe(false);
	});

	it("two users with mutual preferences are matched and handed over to the chat", async () => {
		const a = await initUser(server);
		const b = await initUser(server);
		expect(a.userId).not.toBe(b.userId);
		joinQueue(a, "male", "female");
		expect((await a.lobby.expect("queue_joined")).waiting).toBeGreaterThanOrEqual(1);
		joinQueue(b, "female", "male");
		await b.lobby.expect("queue_joined");
		const [ma, mb] = await Promise.all([a.lobby.expect("match_found"), b.lobby.expect("match_found")]);
		expect(ma.chat_id).toMatch(CHAT_ID);
		expect(mb.chat_id).toBe(ma.chat_id);
		expect(ma.ticket).not.toBe(mb.ticket);
		expect(ma.partner).toEqual({ gender: "female" });
		expect(mb.partner).toEqual({ gender: "male" });
		expect(ma.shared_interests).toEqual([]);
		expect(mb.shared_interests).toEqual([]);
		expectChatUrl(server, ma);
		expectChatUrl(server, mb);
		await Promise.all([expectMatchedClose(a), expectMatchedClose(b)]);

		const chatA = await openChat(ma.chat_url);
		expect(await chatA.expect("chat_joined")).toEqual({ chat_id: ma.chat_id, partner_online: false });
		const chatB = await openChat(mb.chat_url);
		expect(await chatB.expect("chat_joined")).toEqual({ chat_id: ma.chat_id, partner_online: true });
		expect(await chatA.expect("partner_status")).toEqual({ online: true });
		// Clean up: end the chat so later tests start from an empty lobby.
		chatA.send({ type: "leave_chat", payload: {} });
		await chatA.waitFor("chat_ended");
		await chatB.waitFor("chat_ended");
	});
});

describe("a whole chat, with a reload, and the next stranger", () => {
	it("walks the seed's flow", async () => {
		const {
			a,
			b,
			matchA,
			chatA: firstChatA,
			chatB,
		} = await chattingPair(server, { gender: "male", preference: "female" }, { gender: "female", preference: "male" });
		const chatId = matchA.chat_id;
		let chatA = firstChatA;

		// Messages with Unicode content, both ways.
		const hello = "Hallo 👋 – ¿qué tal? 日本語 ✓ 🏳️‍🌈";
		chatA.send({ type: "send_message", payload: { content: hello, client_msg_id: "a-1" } });
		const sent1 = await chatA.expect("message_sent");
		expect(sent1).toMatchObject({ chat_id: chatId, message_id: 1, client_msg_id: "a-1" });
		expect(typeof sent1.sent_at).toBe("number");
		const got1 = await chatB.expect("message_received");
		expect(got1).toMatchObject({ chat_id: chatId, message_id: 1, content: hello });
		expect(typeof got1.sent_at).toBe("number");

		const reply = "Привет! 😀 𝄞 ok";
		chatB.send({ type: "send_message", payload: { content: reply, client_msg_id: "b-1" } });
		expect(await chatB.expect("message_sent")).toMatchObject({
			chat_id: chatId,
			message_id: 2,
			client_msg_id: "b-1",
		});
		expect(await chatA.expect("message_received")).toMatchObject({
			chat_id: chatId,
			message_id: 2,
			content: reply,
		});

		// Typing.
		chatA.send({ type: "typing", payload: { is_typing: true } });
		expect(await chatB.expect("partner_typing")).toEqual({ is_typing: true });
		chatA.send({ type: "typing", payload: { is_typing: false } });
		expect(await chatB.expect("partner_typing")).toEqual({ is_typing: false });

		// A reloads the page: its chat socket closes, B sees it go.
		await chatA.closeAndWait(1001, "reload");
		expect(await chatB.expect("partner_status")).toEqual({ online: false });

		// B writes while A is away: acked, held for A.
		const whileAway = "are you there? ¿estás?";
		chatB.send({ type: "send_message", payload: { content: whileAway, client_msg_id: "b-2" } });
		expect(await chatB.expect("message_sent")).toMatchObject({
			chat_id: chatId,
			message_id: 3,
			client_msg_id: "b-2",
		});

		// The reloaded page: init with the stored identity; ready says where the chat is.
		const back = await initUser(server, { userId: a.userId, token: a.token });
		expect(back.ready.resumed).toBe(true);
		expect(back.userId).toBe(a.userId);
		const ref = back.ready.chat;
		expect(ref, "ready.chat for a user with a live chat").toBeDefined();
		if (!ref) return;
		expect(ref.chat_id).toBe(chatId);
		expect(ref.ticket).not.toBe(matchA.ticket);
		expectChatUrl(server, ref);
		back.lobby.close();

		chatA = await openChat(ref.chat_url, 2);
		expect(await chatA.expect("chat_joined")).toEqual({ chat_id: chatId, partner_online: true });
		expect(await chatA.expect("message_received")).toMatchObject({
			chat_id: chatId,
			message_id: 3,
			content: whileAway,
		});
		expect(await chatB.expect("partner_status")).toEqual({ online: true });
		// Nothing else was queued for A before this pong (no duplicate of 1 or 2).
		chatA.send({ type: "ping", payload: {} });
		await chatA.expect("pong");

		// The chat goes on after the reload.
		chatA.send({ type: "send_message", payload: { content: "back again", client_msg_id: "a-2" } });
		expect(await chatA.expect("message_sent")).toMatchObject({ message_id: 4, client_msg_id: "a-2" });
		expect(await chatB.expect("message_received")).toMatchObject({ message_id: 4, content: "back again" });

		// A leaves: both hear why, both chat sockets close with 1000.
		chatA.send({ type: "leave_chat", payload: {} });
		expect(await chatA.expect("chat_ended")).toEqual({ chat_id: chatId, reason: "you_left" });
		expect(await chatB.expect("chat_ended")).toEqual({ chat_id: chatId, reason: "partner_left" });
		expect((await chatA.closed()).code).toBe(1000);
		expect((await chatB.closed()).code).toBe(1000);

		// Both come back to the lobby for the next stranger.
		const a2 = await initUser(server, { userId: a.userId, token: a.token });
		const b2 = await initUser(server, { userId: b.userId, token: b.token });
		expect(a2.ready.resumed).toBe(true);
		expect(b2.ready.resumed).toBe(true);
		expect(a2.ready.chat).toBeUndefined();
		expect(b2.ready.chat).toBeUndefined();
		joinQueue(a2, "male", "any");
		expect(await a2.lobby.expect("queue_joined")).toEqual({ waiting: 1 });
		joinQueue(b2, "female", "any");
		// The last partners are compatible but must not be matched again.
		expect(await b2.lobby.expect("queue_joined")).toEqual({ waiting: 2 });

		// A third compatible user is matched with the longest-waiting of them: A.
		const c = await initUser(server);
		joinQueue(c, "other", "any");
		await c.lobby.expect("queue_joined");
		const [mc, ma2] = await Promise.all([c.lobby.expect("match_found"), a2.lobby.expect("match_found")]);
		expect(mc.chat_id).toBe(ma2.chat_id);
		expect(mc.chat_id).not.toBe(chatId);
		expect(mc.partner).toEqual({ gender: "male" });
		expect(ma2.partner).toEqual({ gender: "other" });
		await Promise.all([expectMatchedClose(c), expectMatchedClose(a2)]);
		// B keeps waiting (bounded check that no match arrives).
		await b2.lobby.expectSilence(500);
		b2.lobby.send({ type: "leave_queue", payload: {} });
		await b2.lobby.expect("queue_left");
	});

	it("a user whose chat ended can queue again at once (never in_chat)", async () => {
		const { a, b, chatA, chatB } = await chattingPair(
			server,
			{ gender: "other", preference: "other" },
			{ gender: "other", preference: "other" },
		);
		chatB.send({ type: "leave_chat", payload: {} });
		await chatA.expect("chat_ended");
		await chatB.expect("chat_ended");
		for (const user of [a, b]) {
			const again = await initUser(server, user);
			joinQueue(again, "other", "female");
			await again.lobby.expect("queue_joined");
			again.lobby.send({ type: "leave_queue", payload: {} });
			await again.lobby.expect("queue_left");
		}
	});
});

describe("security", () => {
	it("refuses an upgrade from a foreign browser Origin with 403", async () => {
		const lobby = await upgrade(`${server.wsUrl}/ws`, { Origin: "https://evil.example" });
		expect(lobby.status).toBe(403);
		const chat = await upgrade(`${server.wsUrl}/ws/chat/${"ab".repeat(16)}?ticket=x`, {
			Origin: "https://evil.example",
		});
		expect(chat.status).toBe(403);
	});

	it("accepts local development origins, its own origin and no Origin at all", async () => {
		for (const origin of ["http://localhost:1234", "http://127.0.0.1:5173", server.baseUrl, undefined]) {
			const lobby = await connect(`${server.wsUrl}/ws`, origin === undefined ? {} : { origin });
			lobby.send({ type: "ping", payload: {} });
			await lobby.expect("pong");
			await lobby.closeAndWait();
		}
	});

	it("closes a chat socket with a forged, tampered or foreign ticket with 4401", async () => {
		const bogus = await openChat(`${server.wsUrl}/ws/chat/${"0123456789abcdef".repeat(2)}?ticket=forged.ticket`);
		expect((await bogus.closed()).code).toBe(4401);

		const { matchA, matchB } = await matchTwo(
			server,
			{ gender: "female", preference: "female" },
			{ gender: "female", preference: "female" },
		);
		// One character in the middle of a real ticket changed (not the last one,
		// whose low bits may be base64 padding).
		const t = matchA.ticket;
		let i = Math.floor(t.length / 2);
		while (i < t.length - 1 && !/[A-Za-z0-9]/.test(t.charAt(i))) i++;
		const flipped = `${t.slice(0, i)}${t.charAt(i) === "A" ? "B" : "A"}${t.slice(i + 1)}`;
		expect(flipped).not.toBe(t);
		const tampered = await openChat(`${server.wsUrl}/ws/chat/${matchA.chat_id}?ticket=${encodeURIComponent(flipped)}`);
		expect((await tampered.closed()).code).toBe(4401);
		// A real ticket for another chat id.
		const otherId = "f".repeat(32);
		const foreign = await openChat(`${server.wsUrl}/ws/chat/${otherId}?ticket=${encodeURIComponent(t)}`);
		expect((await foreign.closed()).code).toBe(4401);
		// No ticket at all.
		const none = await openChat(`${server.wsUrl}/ws/chat/${matchA.chat_id}?ticket=`);
		expect((await none.closed()).code).toBe(4401);

		// The real tickets still work, and the chat can be ended cleanly.
		const chatA = await openChat(matchA.chat_url);
		await chatA.expect("chat_joined");
		const chatB = await openChat(matchB.chat_url);
		await chatB.expect("chat_joined");
		chatA.send({ type: "leave_chat", payload: {} });
		await chatA.waitFor("chat_ended");
		await chatB.waitFor("chat_ended");
	});
});

describe("PER_IP_LIMITS=off", () => {
	it("accepts 150 quick upgrades from one address without 429", async () => {
		const started = Date.now();
		const statuses = new Map<number, number>();
		for (let i = 0; i < 150; i++) {
			const result = await upgrade(`${server.wsUrl}/ws`);
			statuses.set(result.status, (statuses.get(result.status) ?? 0) + 1);
			await result.client?.closeAndWait();
			if (Date.now() - started > 45_000) break;
		}
		expect(Object.fromEntries(statuses)).toEqual({ 101: 150 });
	});
});
