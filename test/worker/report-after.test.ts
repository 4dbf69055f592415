// Reports after a chat ended (PROTOCOL.md 1.1): a partner who insults and
// leaves at once can still be reported from the lobby, for 5 minutes, with
// the effects of a report made inside the chat; and a report is recorded
// whatever the lobby still remembers of the chat.
import { evictDurableObject, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { Matchmaker } from "../../src/app/matchmaker/matchmaker";
import type { MatchmakerStore } from "../../src/app/matchmaker/store";
import { REPORT_AFTER_END_MS } from "../../src/protocol/schemas";
import { chattingPair, initUser, type Joined, lobbyName, lobbyStub, openLobby } from "./helpers";

type Inner = { store: MatchmakerStore };

/** Whether the lobby keeps the two users apart (the no-rematch and report rules). */
function keptApart(name: string, a: string, b: string): Promise<boolean> {
	return runInDurableObject(lobbyStub(name), (lobby: Matchmaker) =>
		(lobby as unknown as Inner).store.blocked(a, b, Date.now() + 25 * 60 * 60 * 1000),
	);
}

/** Back in the lobby with the same identity. */
const back = (name: string, user: Joined) => initUser(name, { user_id: user.userId, token: user.token });

describe("report on the lobby after the chat ended", () => {
	it("the partner who left at once can be reported: reported, counted once, never matched again", async () => {
		const name = lobbyName();
		const pair = await chattingPair(name);
		pair.b.chat.send({ type: "leave_chat" });
		expect((await pair.a.chat.expect("chat_ended")).reason).toBe("partner_left");
		// Without a report, last partners meet again after a day.
		expect(await keptApart(name, pair.a.userId, pair.b.userId)).toBe(false);

		const a = await back(name, pair.a);
		a.lobby.send({ type: "report", payload: { chat_id: pair.chatId, reason: "harassment" } });
		expect(await a.lobby.expect("reported")).toEqual({ chat_id: pair.chatId });
		expect((await lobbyStub(name).stats()).reports_24h).toBe(1);
		expect(await keptApart(name, pair.a.userId, pair.b.userId)).toBe(true);
		// Twice is answered the same and counted once.
		a.lobby.send({ type: "report", payload: { chat_id: pair.chatId } });
		expect(await a.lobby.expect("reported")).toEqual({ chat_id: pair.chatId });
		expect((await lobbyStub(name).stats()).reports_24h).toBe(1);
	});

	it("a chat reported inside it and again from the lobby counts once", async () => {
		const name = lobbyName();
		const pair = await chattingPair(name);
		pair.a.chat.send({ type: "report", payload: { reason: "spam" } });
		await pair.a.chat.expect("chat_ended");
		const a = await back(name, pair.a);
		a.lobby.send({ type: "report", payload: { chat_id: pair.chatId } });
		expect(await a.lobby.expect("reported")).toEqual({ chat_id: pair.chatId });
		expect((await lobbyStub(name).stats()).reports_24h).toBe(1);
	});

	it("survives the lobby's hibernation; either side may report", async () => {
		const name = lobbyName();
		const pair = await chattingPair(name);
		pair.a.chat.send({ type: "leave_chat" });
		await pair.b.chat.expect("chat_ended");
		await evictDurableObject(lobbyStub(name), { webSockets: "hibernate" });
		const b = await back(name, pair.b);
		b.lobby.send({ type: "report", payload: { chat_id: pair.chatId, reason: "sexual" } });
		expect(await b.lobby.expect("reported")).toEqual({ chat_id: pair.chatId });
		expect((await lobbyStub(name).stats()).reports_24h).toBe(1);
	});

	it("another chat id, a stranger's chat, or a chat that ended over 5 minutes ago is wrong_chat", async () => {
		const name = lobbyName();
		const pair = await chattingPair(name);
		pair.a.chat.send({ type: "leave_chat" });
		await pair.a.chat.expect("chat_ended");
		const a = await back(name, pair.a);
		a.lobby.send({ type: "report", payload: { chat_id: "ab".repeat(16) } });
		await a.lobby.expectError("wrong_chat");
		const stranger = await initUser(name);
		stranger.lobby.send({ type: "report", payload: { chat_id: pair.chatId } });
		await stranger.lobby.expectError("wrong_chat");
		await runInDurableObject(lobbyStub(name), (lobby: Matchmaker) => {
			const chat = (lobby as unknown as Inner).store.lastEndedChat(pair.a.userId, Date.now(), REPORT_AFTER_END_MS);
			if (!chat) throw new Error("the ended chat is not remembered");
			chat.endedAt -= REPORT_AFTER_END_MS + 1;
		});
		a.lobby.send({ type: "report", payload: { chat_id: pair.chatId } });
		await a.lobby.expectError("wrong_chat");
		expect((await lobbyStub(name).stats()).reports_24h).toBe(0);
	});

	it("before init it is not_initialized", async () => {
		const name = lobbyName();
		const user = await initUser(name);
		user.lobby.close();
		const lobby = await openLobby(name);
		lobby.send({ type: "report", payload: { chat_id: "ab".repeat(16) } });
		await lobby.expectError("not_initialized");
	});
});

describe("a report the lobby no longer expected", () => {
	it("is recorded when the lobby had already dropped the chat (ChatEnd carries both users)", async () => {
		const name = lobbyName();
		const stub = lobbyStub(name);
		const pair = await chattingPair(name);
		// As if the lobby had dropped the chat as never joined (a late first join whose notice was lost).
		await runInDurableObject(stub, (_: Matchmaker, state) => {
			state.storage.sql.exec("DELETE FROM chats");
		});
		await evictDurableObject(stub, { webSockets: "hibernate" });
		expect((await stub.stats()).active_chats).toBe(0);
		pair.a.chat.send({ type: "report", payload: { reason: "harassment" } });
		expect((await pair.a.chat.expect("chat_ended")).reason).toBe("you_reported");
		// The room tells the lobby before it tells the users.
		expect((await stub.stats()).reports_24h).toBe(1);
		expect(await keptApart(name, pair.a.userId, pair.b.userId)).toBe(true);
	});
});
