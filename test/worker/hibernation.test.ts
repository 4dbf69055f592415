// The hibernation proof (ARCHITECTURE.md, rules 1–2): an evicted object loses
// every field in memory while its sockets stay open. Waiting users must still
// be matched and live chats must still relay, acks and ids unbroken.
import { evictDurableObject, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { Matchmaker } from "../../src/app/matchmaker/matchmaker";
import { chatStub, chattingPair, initUser, join, lobbyName, lobbyStub, openChat } from "./helpers";

/** Marks the live instance, so a test can tell that eviction really replaced it. */
const tag = new WeakSet<object>();

describe("hibernation", () => {
	it("queued users are still matched after the Matchmaker is evicted", async () => {
		const name = lobbyName();
		const stub = lobbyStub(name);
		const a = await initUser(name);
		join(a, "male", "female");
		await a.lobby.expect("queue_joined");
		const b = await initUser(name);
		join(b, "male", "female");
		await b.lobby.expect("queue_joined");
		await runInDurableObject(stub, (instance: Matchmaker) => {
			tag.add(instance);
		});

		await evictDurableObject(stub, { webSockets: "hibernate" });

		expect(await runInDurableObject(stub, (instance: Matchmaker) => tag.has(instance))).toBe(false);
		// The queue was rebuilt from the sockets' attachments, in arrival order.
		expect(await stub.stats()).toMatchObject({ online: 2, waiting: 2 });
		const c = await initUser(name);
		join(c, "female", "male");
		await c.lobby.expect("queue_joined");
		const m = await c.lobby.expect("match_found");
		expect((await a.lobby.expect("match_found")).chat_id).toBe(m.chat_id);
		expect(b.lobby.unread).toEqual([]);
		// The lobby's rules survive too: b is still queued, a second join is refused.
		join(b, "male", "female");
		await b.lobby.expectError("already_queued");
	});

	it("a user inside an interest window is matched when it ends, across an eviction", async () => {
		const name = lobbyName();
		const stub = lobbyStub(name);
		const plain = await initUser(name);
		join(plain);
		await plain.lobby.expect("queue_joined");
		const picky = await initUser(name);
		join(picky, "other", "any", ["astronomy"]);
		await picky.lobby.expect("queue_joined");
		await evictDurableObject(stub, { webSockets: "hibernate" });
		const m = await picky.lobby.expect("match_found", 5_000);
		expect((await plain.lobby.expect("match_found")).chat_id).toBe(m.chat_id);
	});

	it("identity, live chats and no-rematch survive: ready.chat after eviction", async () => {
		const name = lobbyName();
		const pair = await chattingPair(name);
		await evictDurableObject(lobbyStub(name), { webSockets: "hibernate" });
		const back = await initUser(name, { user_id: pair.a.userId, token: pair.a.token });
		join(back);
		await back.lobby.expectError("in_chat");
		expect(await lobbyStub(name).stats()).toMatchObject({ chatting: 2, active_chats: 1 });
	});

	it("a live chat still relays after the ChatRoom is evicted, ids unbroken", async () => {
		const { a, b, chatId } = await chattingPair();
		a.chat.send({ type: "send_message", payload: { content: "before", client_msg_id: "x1" } });
		expect((await a.chat.expect("message_sent")).message_id).toBe(1);
		await b.chat.expect("message_received");

		await evictDurableObject(chatStub(chatId), { webSockets: "hibernate" });

		b.chat.send({ type: "send_message", payload: { content: "after" } });
		expect(await b.chat.expect("message_sent")).toMatchObject({ chat_id: chatId, message_id: 2 });
		expect(await a.chat.expect("message_received")).toMatchObject({ message_id: 2, content: "after" });
		// Idempotency survives: the old client_msg_id is recognised.
		a.chat.send({ type: "send_message", payload: { content: "before", client_msg_id: "x1" } });
		expect((await a.chat.expect("message_sent")).message_id).toBe(1);
		a.chat.send({ type: "typing", payload: { is_typing: true } });
		expect(await b.chat.expect("partner_typing")).toEqual({ is_typing: true });
		expect(b.chat.unread).toEqual([]);
	});

	it("after an eviction, a rejoin without after= gets only what its socket was never sent", async () => {
		const { a, b, chatId } = await chattingPair();
		for (const content of ["one", "two"]) {
			a.chat.send({ type: "send_message", payload: { content } });
			await a.chat.expect("message_sent");
			await b.chat.expect("message_received");
		}
		b.chat.close();
		await a.chat.expect("partner_status");
		a.chat.send({ type: "send_message", payload: { content: "held" } });
		expect((await a.chat.expect("message_sent")).message_id).toBe(3);
		await evictDurableObject(chatStub(chatId), { webSockets: "hibernate" });
		// The watermark comes back from the rows (messages 1 and 2 were relayed), not from memory.
		const again = await openChat(b.chatUrl);
		await again.expect("chat_joined");
		expect(await again.expect("message_received")).toMatchObject({ message_id: 3, content: "held" });
		a.chat.send({ type: "send_message", payload: { content: "four" } });
		expect((await a.chat.waitFor("message_sent")).message_id).toBe(4);
		expect(await again.waitFor("message_received")).toMatchObject({ message_id: 4, content: "four" });
		expect(again.unread).toEqual([]);
	});

	it("held messages and the grace period survive an eviction", async () => {
		const { a, b, chatId } = await chattingPair();
		b.chat.close();
		await a.chat.expect("partner_status");
		a.chat.send({ type: "send_message", payload: { content: "held" } });
		await a.chat.expect("message_sent");
		await evictDurableObject(chatStub(chatId), { webSockets: "hibernate" });
		const again = await openChat(b.chatUrl);
		expect(await again.expect("chat_joined")).toEqual({ chat_id: chatId, partner_online: true });
		expect(await again.expect("message_received")).toMatchObject({ message_id: 1, content: "held" });
		await evictDurableObject(chatStub(chatId), { webSockets: "hibernate" });
		again.close();
		expect(await a.chat.expect("partner_status")).toEqual({ online: true });
		expect(await a.chat.expect("partner_status")).toEqual({ online: false });
		expect(await a.chat.expect("chat_ended", 5_000)).toMatchObject({ reason: "partner_disconnected" });
	});
});
