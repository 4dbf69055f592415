// A chat is bounded (bug 8 of the hostile-load review): it lives at most as
// long as its tickets, and stores at most STORED_LIMITS; what the partner
// already has is dropped first, nothing acked is lost.
import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { ChatRoom } from "../../src/app/chat/chat-room";
import { ChatStore, STORED_LIMITS } from "../../src/app/chat/store";
import { RowMeter } from "../../src/app/row-meter";
import { type ChatState, newMember } from "../../src/domain/chat/lifecycle";
import { chatStub, chattingPair, openChat } from "./helpers";

/** A chat of users a and b; `bAway`: b's socket is closed, so what a sends is held for b. */
function twoUsers(chatId: string, bAway: boolean): ChatState {
	const member = (offlineSince: number | null) => ({ ...newMember(), joined: true, offlineSince });
	return {
		chatId,
		users: ["a", "b"],
		matchedAt: 0,
		lobby: "test",
		members: { a: member(null), b: member(bAway ? 1 : null) },
	};
}

const small = { messages: 5, chars: 1_000, pruneBatch: 2 };
const message = (id: number, sender = "a", clientMsgId: string | null = `c${id}`) => ({
	id,
	sender,
	content: `message ${id}`,
	clientMsgId,
	sentAt: 1_000 + id,
});

describe("stored messages", () => {
	it(`are bounded (by default ${STORED_LIMITS.messages}); the oldest the partner already got go first, with their client_msg_id`, async () => {
		const id = crypto.randomUUID().replaceAll("-", "");
		await runInDurableObject(chatStub(id), (_: ChatRoom, state) => {
			const store = new ChatStore(state.storage, new RowMeter(state.storage.sql), small);
			const chat = twoUsers(id, false);
			store.create(chat, 257);
			for (let i = 1; i <= 12; i++) {
				expect(store.makeRoom(10, chat)).toBe(true);
				store.append([message(i)], true);
			}
			const count = state.storage.sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM messages").one().n;
			expect(count).toBeLessThanOrEqual(small.messages);
			const kept = [...store.messagesFor("b", 0)].map((m) => m.id);
			expect(kept.at(-1)).toBe(12);
			expect(kept[0]).toBeGreaterThan(12 - small.messages);
			// The index of client_msg_ids follows the rows, also after a wake.
			expect(store.byClientId("a", "c1")).toBeNull();
			expect(store.byClientId("a", "c12")).toEqual({ id: 12, sentAt: 1_012 });
			const woken = new ChatStore(state.storage, new RowMeter(state.storage.sql), small);
			expect(woken.byClientId("a", "c1")).toBeNull();
			expect(woken.makeRoom(10, chat)).toBe(true);
		});
	});

	it("counts code points, as SQLite does after a wake: emoji fill the bound exactly", async () => {
		const id = crypto.randomUUID().replaceAll("-", "");
		await runInDurableObject(chatStub(id), (_: ChatRoom, state) => {
			const limits = { messages: 100, chars: 10, pruneBatch: 1 };
			const store = new ChatStore(state.storage, new RowMeter(state.storage.sql), limits);
			const chat = twoUsers(id, true);
			store.create(chat, 257);
			// Five emoji are 10 UTF-16 units but 5 code points: two such messages fit.
			for (const n of [1, 2]) {
				expect(store.makeRoom(5, chat)).toBe(true);
				store.append([{ ...message(n), content: "🦩🦩🦩🦩🦩" }], false);
			}
			expect(store.makeRoom(1, chat)).toBe(false);
			expect(new ChatStore(state.storage, new RowMeter(state.storage.sql), limits).makeRoom(1, chat)).toBe(false);
		});
	});

	it("messages held for an absent partner are never dropped: the store says no instead", async () => {
		const id = crypto.randomUUID().replaceAll("-", "");
		await runInDurableObject(chatStub(id), (_: ChatRoom, state) => {
			const store = new ChatStore(state.storage, new RowMeter(state.storage.sql), small);
			const chat = twoUsers(id, true);
			store.create(chat, 257);
			for (let i = 1; i <= small.messages; i++) {
				expect(store.makeRoom(10, chat)).toBe(true);
				store.append([message(i)], false);
			}
			expect(store.makeRoom(10, chat)).toBe(false);
			expect([...store.messagesFor("b", 0)].map((m) => m.id)).toEqual([1, 2, 3, 4, 5]);
			// Once the partner is back and was sent them, they may go like any relayed message.
			const b = chat.members.b;
			if (b) b.delivered = 5;
			store.saveMembers(chat);
			expect(store.makeRoom(10, chat)).toBe(true);
			// Too many characters is refused the same way.
			expect(
				new ChatStore(state.storage, new RowMeter(state.storage.sql), { ...small, messages: 100 }).makeRoom(
					small.chars,
					chat,
				),
			).toBe(false);
		});
	});

	it("a sender whose offline partner has the chat full gets rate_limited; every acked message arrives", async () => {
		const pair = await chattingPair();
		await runInDurableObject(chatStub(pair.chatId), (room: ChatRoom) => {
			(room as unknown as { store: { limits: typeof small } }).store.limits = { ...small, messages: 3 };
		});
		pair.b.chat.close();
		await pair.a.chat.waitFor("partner_status");
		for (let i = 1; i <= 3; i++) {
			pair.a.chat.send({ type: "send_message", payload: { content: `held ${i}` } });
			expect((await pair.a.chat.expect("message_sent")).message_id).toBe(i);
		}
		pair.a.chat.send({ type: "send_message", payload: { content: "one too many" } });
		const refused = await pair.a.chat.expectError("rate_limited");
		expect(refused.retry_after_ms).toBeGreaterThan(0);
		const back = await openChat(pair.b.chatUrl);
		await back.expect("chat_joined");
		for (let i = 1; i <= 3; i++) expect((await back.expect("message_received")).content).toBe(`held ${i}`);
	});
});

describe("a chat's lifetime", () => {
	it("ends as long as its tickets live (24 h), for both, however busy", async () => {
		const pair = await chattingPair();
		const stub = chatStub(pair.chatId);
		await runInDurableObject(stub, (room: ChatRoom) => {
			(room as unknown as { timings: { maxChatMs: number } }).timings.maxChatMs = 0;
		});
		expect(await runDurableObjectAlarm(stub)).toBe(true);
		expect(await pair.a.chat.waitFor("chat_ended")).toEqual({ chat_id: pair.chatId, reason: "abandoned" });
		expect(await pair.b.chat.waitFor("chat_ended")).toEqual({ chat_id: pair.chatId, reason: "abandoned" });
		expect((await pair.a.chat.closed()).code).toBe(1000);
	});
});
