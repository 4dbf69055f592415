// Delivery receipts (PROTOCOL.md 1.1): a partner that confirms makes the
// sender's ack need no write; one that does not only delays it (1 s at most,
// and only until it is known not to confirm); a restart makes ids jump
// forward, never back; nothing acked is lost.
import { evictDurableObject, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { ChatRoom } from "../../src/app/chat/chat-room";
import { chatStub, chattingPair, openChat, type TestSocket } from "./helpers";

/** What the tests read of a ChatRoom's insides: rows written, and whether any message is stored. */
async function storage(chatId: string) {
	return runInDurableObject(chatStub(chatId), (room: ChatRoom, state) => {
		const inside = room as unknown as { meter: { rowsWritten: number }; messageRows: number };
		const table = state.storage.sql
			.exec("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'messages'")
			.toArray().length;
		const stored =
			table === 0 ? 0 : state.storage.sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM messages").one().n;
		return { rows: inside.meter.rowsWritten, messageRows: inside.messageRows, stored };
	});
}

const say = (socket: TestSocket, content: string, clientMsgId?: string) =>
	socket.send({
		type: "send_message",
		payload: { content, ...(clientMsgId === undefined ? {} : { client_msg_id: clientMsgId }) },
	});

describe("a partner that confirms", () => {
	it("gets client_msg_id with each message; its receipt acks the sender, then says delivered; nothing is stored", async () => {
		const { a, b, chatId } = await chattingPair();
		const before = await storage(chatId);
		say(a.chat, "one", "c1");
		say(a.chat, "two", "c2");
		expect(await b.chat.expect("message_received")).toMatchObject({
			message_id: 1,
			content: "one",
			client_msg_id: "c1",
		});
		expect(await b.chat.expect("message_received")).toMatchObject({ message_id: 2, client_msg_id: "c2" });
		// Not acked before the receipt (it would come after RECEIPT_TIMEOUT_MS otherwise).
		expect(a.chat.unread).toEqual([]);
		b.chat.send({ type: "received", payload: { up_to: 2 } });
		expect(await a.chat.expect("message_sent")).toMatchObject({ chat_id: chatId, message_id: 1, client_msg_id: "c1" });
		expect(await a.chat.expect("message_sent")).toMatchObject({ message_id: 2, client_msg_id: "c2" });
		expect(await a.chat.expect("message_delivered")).toEqual({ chat_id: chatId, up_to: 2 });
		// And the other way round, a message without client_msg_id.
		say(b.chat, "three");
		const three = await a.chat.expect("message_received");
		expect(three).toMatchObject({ message_id: 3, content: "three" });
		expect(three.client_msg_id).toBeUndefined();
		a.chat.send({ type: "received", payload: { up_to: 3 } });
		expect(await b.chat.expect("message_sent")).toMatchObject({ message_id: 3 });
		expect(await b.chat.expect("message_delivered")).toEqual({ chat_id: chatId, up_to: 3 });
		const after = await storage(chatId);
		expect(after.stored).toBe(0);
		expect(after.messageRows).toBe(0);
		expect(after.rows).toBe(before.rows);
	});

	it("a receipt repeated or behind is a no-op; one for an id the partner never sent is invalid_payload", async () => {
		const { a, b } = await chattingPair();
		// Nothing sent yet: any id is one the partner never sent.
		b.chat.send({ type: "received", payload: { up_to: 1 } });
		expect(await b.chat.expectError("invalid_payload")).toMatchObject({ request_type: "received" });
		for (const payload of [{ up_to: 0 }, { up_to: 1.5 }, { up_to: "1" }, {}]) {
			b.chat.send({ type: "received", payload });
			expect(await b.chat.expectError("invalid_payload")).toMatchObject({ request_type: "received" });
		}
		say(a.chat, "hi");
		await b.chat.expect("message_received");
		// Its own message is not one its partner sent either.
		say(b.chat, "hello");
		await a.chat.expect("message_received");
		b.chat.send({ type: "received", payload: { up_to: 3 } });
		await b.chat.expectError("invalid_payload");
		b.chat.send({ type: "received", payload: { up_to: 1 } });
		await a.chat.expect("message_sent");
		expect(await a.chat.expect("message_delivered")).toMatchObject({ up_to: 1 });
		b.chat.send({ type: "received", payload: { up_to: 1 } });
		a.chat.send({ type: "received", payload: { up_to: 2 } });
		// b's own ack comes next; nothing more reached a from b's repeated receipt.
		expect(await b.chat.expect("message_sent")).toMatchObject({ message_id: 2 });
		expect(await b.chat.expect("message_delivered")).toMatchObject({ up_to: 2 });
		expect(a.chat.unread).toEqual([]);
		expect(b.chat.unread).toEqual([]);
	});

	it("a resend of a confirmed message is acked again with its id and not delivered twice", async () => {
		const { a, b } = await chattingPair();
		say(a.chat, "once", "m-1");
		await b.chat.expect("message_received");
		b.chat.send({ type: "received", payload: { up_to: 1 } });
		const first = await a.chat.expect("message_sent");
		await a.chat.expect("message_delivered");
		say(a.chat, "once", "m-1");
		expect(await a.chat.expect("message_sent")).toEqual(first);
		say(a.chat, "next", "m-2");
		expect(await b.chat.expect("message_received")).toMatchObject({ message_id: 2, content: "next" });
	});

	it("what it did not confirm before its socket dropped is stored, acked, and sent again on its return", async () => {
		const { a, b, chatId } = await chattingPair();
		say(a.chat, "in flight", "f1");
		await b.chat.expect("message_received");
		b.chat.close();
		// Its socket is gone: the server answers for the message now.
		expect(await a.chat.waitFor("message_sent")).toMatchObject({ message_id: 1, client_msg_id: "f1" });
		expect((await storage(chatId)).stored).toBe(1);
		const back = await openChat(b.chatUrl, 0);
		await back.expect("chat_joined");
		expect(await back.expect("message_received")).toMatchObject({ message_id: 1, client_msg_id: "f1" });
		back.send({ type: "received", payload: { up_to: 1 } });
		expect(await a.chat.waitFor("message_delivered")).toMatchObject({ up_to: 1 });
		// Confirmed, so dropped from storage.
		await expect.poll(async () => (await storage(chatId)).stored).toBe(0);
	});

	it("a sender back after a reload hears what its partner confirmed meanwhile", async () => {
		const { a, b } = await chattingPair();
		say(a.chat, "while you were away");
		await b.chat.expect("message_received");
		a.chat.close();
		b.chat.send({ type: "received", payload: { up_to: 1 } });
		await b.chat.waitFor("partner_status");
		const back = await openChat(a.chatUrl, 0);
		await back.expect("chat_joined");
		expect(await back.waitFor("message_delivered")).toMatchObject({ up_to: 1 });
	});
});

describe("a partner that never confirms (an older client)", () => {
	it("delays the first ack by the receipt timeout only; then messages are stored and acked at once", async () => {
		const { a, b, chatId } = await chattingPair();
		say(a.chat, "first");
		await b.chat.expect("message_received");
		// Stored once the receipt is overdue, then acked.
		expect(await a.chat.expect("message_sent", 3_000)).toMatchObject({ message_id: 1 });
		expect((await storage(chatId)).stored).toBe(1);
		for (const content of ["second", "third"]) say(a.chat, content);
		expect(await a.chat.expect("message_sent")).toMatchObject({ message_id: 2 });
		expect(await a.chat.expect("message_sent")).toMatchObject({ message_id: 3 });
		// Acked because stored, with no receipt waited for.
		expect((await storage(chatId)).stored).toBe(3);
		for (const id of [2, 3]) expect((await b.chat.expect("message_received")).message_id).toBe(id);
		// If it starts confirming after all, confirmed messages leave storage.
		b.chat.send({ type: "received", payload: { up_to: 3 } });
		expect(await a.chat.expect("message_delivered")).toMatchObject({ up_to: 3 });
		await expect.poll(async () => (await storage(chatId)).stored).toBe(0);
	});
});

describe("restarts", () => {
	it("through hibernation a confirmed message's client_msg_id is still recognised: acked again, not delivered twice", async () => {
		const { a, b, chatId } = await chattingPair();
		say(a.chat, "kept", "k-1");
		await b.chat.expect("message_received");
		b.chat.send({ type: "received", payload: { up_to: 1 } });
		const first = await a.chat.expect("message_sent");
		await a.chat.expect("message_delivered");
		// Nothing of it is stored: only the attachments remember it.
		expect((await storage(chatId)).stored).toBe(0);
		await evictDurableObject(chatStub(chatId), { webSockets: "hibernate" });
		say(a.chat, "kept", "k-1");
		expect(await a.chat.expect("message_sent")).toEqual(first);
		say(a.chat, "new", "k-2");
		expect(await b.chat.expect("message_received")).toMatchObject({ message_id: 2, client_msg_id: "k-2" });
	});

	it("with both members offline the chat is evicted, not restarted: ids go on, an acked client_msg_id is still known", async () => {
		const { a, b, chatId } = await chattingPair();
		say(a.chat, "hello", "k-1");
		expect(await b.chat.expect("message_received")).toMatchObject({ message_id: 1, client_msg_id: "k-1" });
		// A goes before the receipt: the ack finds no socket, and A will resend.
		a.chat.close(1000, "tab closed");
		await b.chat.expect("partner_status");
		b.chat.send({ type: "received", payload: { up_to: 1 } });
		b.chat.close(1000, "tab closed");
		await b.chat.closed();
		// Nobody online: no attachment keeps memory; the chat row does (one write it made anyway).
		await runInDurableObject(chatStub(chatId), (_room: ChatRoom, state) => {
			const row = state.storage.sql.exec<{ kept: string | null }>("SELECT kept FROM chat").one();
			expect(row.kept).not.toBeNull();
		});
		await evictDurableObject(chatStub(chatId));
		const a2 = await openChat(a.chatUrl, 0);
		await a2.expect("chat_joined");
		say(a2, "hello", "k-1");
		expect(await a2.waitFor("message_sent")).toMatchObject({ message_id: 1, client_msg_id: "k-1" });
		say(a2, "again", "k-2");
		const b2 = await openChat(b.chatUrl, 1);
		await b2.expect("chat_joined");
		// Not the resend of k-1 a second time: the next message, with the next id.
		expect(await b2.waitFor("message_received")).toMatchObject({ message_id: 2, client_msg_id: "k-2" });
		await runInDurableObject(chatStub(chatId), (_room: ChatRoom, state) => {
			expect(state.storage.sql.exec<{ kept: string | null }>("SELECT kept FROM chat").one().kept).toBeNull();
		});
	});

	it("after a restart ids jump forward, never back; hibernation keeps them consecutive", async () => {
		const { a, b, chatId } = await chattingPair();
		say(a.chat, "one");
		await b.chat.expect("message_received");
		b.chat.send({ type: "received", payload: { up_to: 1 } });
		await a.chat.expect("message_sent");
		await a.chat.expect("message_delivered");
		// Hibernation: the next id rode in the attachments.
		await evictDurableObject(chatStub(chatId), { webSockets: "hibernate" });
		say(b.chat, "two");
		expect((await a.chat.expect("message_received")).message_id).toBe(2);
		a.chat.send({ type: "received", payload: { up_to: 2 } });
		await b.chat.expect("message_sent");
		// A restart: every socket drops, memory is gone.
		await evictDurableObject(chatStub(chatId), { webSockets: "close" });
		await a.chat.closed();
		await b.chat.closed();
		const a2 = await openChat(a.chatUrl, 2);
		await a2.expect("chat_joined");
		const b2 = await openChat(b.chatUrl, 2);
		await b2.expect("chat_joined");
		say(a2, "three");
		const three = await b2.waitFor("message_received");
		expect(three.message_id).toBeGreaterThan(2);
		// A receipt for an id handed out before the restart is not refused.
		a2.send({ type: "received", payload: { up_to: 2 } });
		b2.send({ type: "received", payload: { up_to: three.message_id } });
		expect(await a2.waitFor("message_sent")).toMatchObject({ message_id: three.message_id });
		expect(a2.unread.some((e) => e.type === "error")).toBe(false);
	});
});
