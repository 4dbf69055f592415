// The Matchmaker through real lobby sockets: identity, queueing, every lobby
// error code, and each matching rule of PROTOCOL.md.
import { describe, expect, it } from "vitest";
import { chattingPair, initUser, type Joined, join, lobbyName, lobbyStub, openChat, openLobby } from "./helpers";

describe("identity", () => {
	it("init without a user id creates one; an empty string counts as none", async () => {
		const name = lobbyName();
		const lobby = await openLobby(name);
		lobby.send({ type: "init", payload: { user_id: "", token: "" } });
		const ready = await lobby.expect("ready");
		expect(ready.user_id).toMatch(/^[0-9a-f]{16}$/);
		expect(ready.token.length).toBeGreaterThan(20);
		expect(ready.resumed).toBe(false);
		expect(ready.presence).toEqual({ online: 1, waiting: 0, chatting: 0 });
		expect(ready.chat).toBeUndefined();
	});

	it("a valid user id and token resume the same identity", async () => {
		const name = lobbyName();
		const first = await initUser(name);
		first.lobby.close();
		await first.lobby.closed();
		const again = await initUser(name, { user_id: first.userId, token: first.token });
		expect(again.userId).toBe(first.userId);
		expect(again.token).toBe(first.token);
	});

	it("reports resumed: true only for a valid pair", async () => {
		const name = lobbyName();
		const first = await initUser(name);
		const lobby = await openLobby(name);
		lobby.send({ type: "init", payload: { user_id: first.userId, token: first.token } });
		expect((await lobby.expect("ready")).resumed).toBe(true);
	});

	it("a user id with a wrong or missing token gets a fresh identity", async () => {
		const name = lobbyName();
		const victim = await initUser(name);
		for (const payload of [{ user_id: victim.userId }, { user_id: victim.userId, token: "forged" }]) {
			const lobby = await openLobby(name);
			lobby.send({ type: "init", payload });
			const ready = await lobby.expect("ready");
			expect(ready.resumed).toBe(false);
			expect(ready.user_id).not.toBe(victim.userId);
		}
		// The victim's socket was not replaced.
		victim.lobby.send({ type: "ping" });
		await victim.lobby.expect("pong");
	});

	it("a second lobby socket for the same user replaces the first with 4409", async () => {
		const name = lobbyName();
		const first = await initUser(name);
		join(first);
		await first.lobby.expect("queue_joined");
		const second = await initUser(name, { user_id: first.userId, token: first.token });
		expect((await first.lobby.closed()).code).toBe(4409);
		// The queue entry belonged to the old socket.
		second.lobby.send({ type: "leave_queue" });
		await second.lobby.expectError("not_queued");
		expect((await lobbyStub(name).stats()).waiting).toBe(0);
	});
});

describe("lobby errors", () => {
	it("any first event but init is not_initialized; the socket stays open", async () => {
		const lobby = await openLobby(lobbyName());
		lobby.send({ type: "join_queue", payload: { gender: "male", preference: "any" } });
		const err = await lobby.expectError("not_initialized");
		expect(err.request_type).toBe("join_queue");
		lobby.send({ type: "leave_queue" });
		await lobby.expectError("not_initialized");
		lobby.send({ type: "init" });
		await lobby.expect("ready");
	});

	it("a second init is already_initialized", async () => {
		const user = await initUser(lobbyName());
		user.lobby.send({ type: "init" });
		expect((await user.lobby.expectError("already_initialized")).request_type).toBe("init");
	});

	it("init and join_queue sent back to back are handled in order", async () => {
		const lobby = await openLobby(lobbyName());
		lobby.send({ type: "init" });
		lobby.send({ type: "join_queue", payload: { gender: "female", preference: "any" } });
		await lobby.expect("ready");
		expect(await lobby.expect("queue_joined")).toEqual({ waiting: 1 });
	});

	it("join_queue twice is already_queued; leave_queue when not queued is not_queued", async () => {
		const user = await initUser(lobbyName());
		user.lobby.send({ type: "leave_queue" });
		await user.lobby.expectError("not_queued");
		join(user);
		await user.lobby.expect("queue_joined");
		join(user);
		await user.lobby.expectError("already_queued");
		user.lobby.send({ type: "leave_queue", payload: {} });
		expect(await user.lobby.expect("queue_left")).toEqual({});
		user.lobby.send({ type: "leave_queue" });
		await user.lobby.expectError("not_queued");
	});

	it("join_queue while in a live chat is in_chat, and ready.chat says where to go", async () => {
		const name = lobbyName();
		const pair = await chattingPair(name);
		const back = await initUser(name, { user_id: pair.a.userId, token: pair.a.token });
		join(back);
		await back.lobby.expectError("in_chat");
		back.lobby.close();
		const lobby = await openLobby(name);
		lobby.send({ type: "init", payload: { user_id: pair.a.userId, token: pair.a.token } });
		const ready = await lobby.expect("ready");
		expect(ready.chat?.chat_id).toBe(pair.chatId);
		expect(ready.chat?.chat_url).toContain(`/ws/chat/${pair.chatId}?ticket=`);
	});

	it("bad frames, unknown types and invalid payloads get errors, the socket stays open", async () => {
		const user = await initUser(lobbyName());
		user.lobby.ws.send(new Uint8Array([1, 2, 3]));
		await user.lobby.expectError("bad_frame");
		user.lobby.send("not json");
		await user.lobby.expectError("bad_frame");
		user.lobby.send({ type: "x".repeat(17_000) });
		await user.lobby.expectError("bad_frame");
		user.lobby.send({ type: "send_message", payload: { content: "hi" } });
		expect((await user.lobby.expectError("unknown_type")).request_type).toBe("send_message");
		user.lobby.send({ type: "join_queue", payload: { gender: "robot", preference: "any" } });
		await user.lobby.expectError("invalid_payload");
		user.lobby.send({ type: "ping" });
		await user.lobby.expect("pong");
		expect(user.lobby.isClosed).toBe(false);
	});

	it("join_queue is limited to bursts of 5, then rate_limited with retry_after_ms", async () => {
		const user = await initUser(lobbyName());
		for (let i = 0; i < 5; i++) {
			join(user);
			user.lobby.send({ type: "leave_queue" });
		}
		for (let i = 0; i < 5; i++) {
			await user.lobby.expect("queue_joined");
			await user.lobby.expect("queue_left");
		}
		join(user);
		const err = await user.lobby.expectError("rate_limited");
		expect(err.request_type).toBe("join_queue");
		expect(err.retry_after_ms).toBeGreaterThan(0);
		expect(err.retry_after_ms).toBeLessThanOrEqual(1000);
	});

	it("a socket that keeps pushing past the limit is closed with 1008", async () => {
		const user = await initUser(lobbyName());
		for (let i = 0; i < 40; i++)
			user.lobby.send({ type: "join_queue", payload: { gender: "male", preference: "any" } });
		expect((await user.lobby.closed()).code).toBe(1008);
	});
});

describe("matching rules", () => {
	it("rule 1: mutual preference", async () => {
		const name = lobbyName();
		const man = await initUser(name);
		join(man, "male", "female");
		await man.lobby.expect("queue_joined");
		const womanWantsWoman = await initUser(name);
		join(womanWantsWoman, "female", "female");
		expect(await womanWantsWoman.lobby.expect("queue_joined")).toEqual({ waiting: 2 });
		const womanWantsMan = await initUser(name);
		join(womanWantsMan, "female", "male");
		await womanWantsMan.lobby.expect("queue_joined");
		const found = await womanWantsMan.lobby.expect("match_found");
		expect(found.partner).toEqual({ gender: "male" });
		expect((await man.lobby.expect("match_found")).chat_id).toBe(found.chat_id);
		expect(womanWantsWoman.lobby.unread).toEqual([]);
	});

	it("rule 2: the longest-waiting eligible user is chosen", async () => {
		const name = lobbyName();
		const first = await initUser(name);
		const second = await initUser(name);
		join(first, "male", "female");
		await first.lobby.expect("queue_joined");
		join(second, "male", "female");
		await second.lobby.expect("queue_joined");
		const newcomer = await initUser(name);
		join(newcomer, "female", "any");
		await newcomer.lobby.expect("queue_joined");
		const match = await newcomer.lobby.expect("match_found");
		expect((await first.lobby.expect("match_found")).chat_id).toBe(match.chat_id);
		expect(second.lobby.unread).toEqual([]);
		expect((await lobbyStub(name).stats()).waiting).toBe(1);
	});

	it("rule 3: interests first, anyone after the window, ended by an alarm (rule 5)", async () => {
		const name = lobbyName();
		const plain = await initUser(name);
		join(plain, "other", "any");
		await plain.lobby.expect("queue_joined");
		const chess = await initUser(name);
		join(chess, "other", "any", ["Chess", "go"]);
		await chess.lobby.expect("queue_joined");
		const fan = await initUser(name);
		join(fan, "other", "any", ["chess "]);
		await fan.lobby.expect("queue_joined");
		const m = await fan.lobby.expect("match_found");
		expect(m.shared_interests).toEqual(["chess"]);
		expect((await chess.lobby.expect("match_found")).shared_interests).toEqual(["chess"]);
		// Someone whose interests nobody shares waits out the window, then
		// matches the plain user without any other event.
		const loner = await initUser(name);
		join(loner, "other", "any", ["knitting"]);
		await loner.lobby.expect("queue_joined");
		const late = await loner.lobby.expect("match_found", 5_000);
		expect(late.shared_interests).toEqual([]);
		expect((await plain.lobby.expect("match_found")).chat_id).toBe(late.chat_id);
	});

	it("language: a different one is not matched inside the window, anyone after; match_found tells the partner's", async () => {
		const name = lobbyName();
		const joinIn = (u: Joined, language?: string) =>
			u.lobby.send({
				type: "join_queue",
				payload: { gender: "other", preference: "any", ...(language ? { language } : {}) },
			});
		const en = await initUser(name);
		joinIn(en, "en");
		expect(await en.lobby.expect("queue_joined")).toEqual({ waiting: 1 });
		const pt = await initUser(name);
		joinIn(pt, "pt");
		// Both inside their windows, different languages: no match.
		expect(await pt.lobby.expect("queue_joined")).toEqual({ waiting: 2 });
		// No language is no different language: the longest-waiting one, en.
		const none = await initUser(name);
		joinIn(none);
		expect(await none.lobby.expect("queue_joined")).toEqual({ waiting: 3 });
		const m = await none.lobby.expect("match_found");
		expect(m.partner).toEqual({ gender: "other", language: "en" });
		expect((await en.lobby.expect("match_found")).partner).toEqual({ gender: "other" });
		// A de speaker waits with pt; when the windows end (an alarm, no other event) they meet.
		const de = await initUser(name);
		joinIn(de, "de");
		expect(await de.lobby.expect("queue_joined")).toEqual({ waiting: 2 });
		expect((await de.lobby.expect("match_found", 5_000)).partner).toEqual({ gender: "other", language: "pt" });
		expect((await pt.lobby.expect("match_found")).partner).toEqual({ gender: "other", language: "de" });
	});

	it("language must be a lowercase ISO 639-1 code: anything else is invalid_payload", async () => {
		const user = await initUser(lobbyName());
		for (const language of ["EN", "english", "e", "p1", 5, ""]) {
			user.lobby.send({ type: "join_queue", payload: { gender: "other", preference: "any", language } });
			expect((await user.lobby.expectError("invalid_payload")).request_type).toBe("join_queue");
		}
		user.lobby.send({ type: "join_queue", payload: { gender: "other", preference: "any", language: "pt" } });
		expect(await user.lobby.expect("queue_joined")).toEqual({ waiting: 1 });
	});

	it("rule 4: two people are not matched twice in a row", async () => {
		const name = lobbyName();
		const pair = await chattingPair(name);
		pair.a.chat.send({ type: "leave_chat" });
		await pair.a.chat.expect("chat_ended");
		await pair.b.chat.expect("chat_ended");
		const a = await initUser(name, { user_id: pair.a.userId, token: pair.a.token });
		const b = await initUser(name, { user_id: pair.b.userId, token: pair.b.token });
		join(a);
		await a.lobby.expect("queue_joined");
		join(b);
		expect(await b.lobby.expect("queue_joined")).toEqual({ waiting: 2 });
		const third = await initUser(name);
		join(third);
		await third.lobby.expect("queue_joined");
		const m = await third.lobby.expect("match_found");
		expect((await a.lobby.expect("match_found")).chat_id).toBe(m.chat_id);
		expect(b.lobby.unread).toEqual([]);
	});

	it("rule 4: never again after a report, even after chatting with others", async () => {
		const name = lobbyName();
		const pair = await chattingPair(name);
		pair.a.chat.send({ type: "report", payload: { reason: "rude" } });
		expect(await pair.a.chat.expect("chat_ended")).toMatchObject({ reason: "you_reported" });
		expect(await pair.b.chat.expect("chat_ended")).toMatchObject({ reason: "partner_left" });
		const rejoin = async (u: { userId: string; token: string }) => {
			const x = await initUser(name, { user_id: u.userId, token: u.token });
			join(x);
			await x.lobby.expect("queue_joined");
			return x;
		};
		// Each chats with someone else first, so "in a row" no longer applies.
		for (const who of [pair.a, pair.b]) {
			const x = await rejoin(who);
			const other = await initUser(name);
			join(other);
			await other.lobby.expect("queue_joined");
			const m = await x.lobby.expect("match_found");
			const chat = await openChat(m.chat_url);
			await chat.expect("chat_joined");
			chat.send({ type: "leave_chat" });
			await chat.expect("chat_ended");
		}
		const a = await rejoin(pair.a);
		const b = await rejoin(pair.b);
		expect((await lobbyStub(name).stats()).waiting).toBe(2);
		expect(a.lobby.unread).toEqual([]);
		expect(b.lobby.unread).toEqual([]);
	});

	it("match_found is followed by the lobby socket closing with 1000 matched", async () => {
		const name = lobbyName();
		const a = await initUser(name);
		const b = await initUser(name);
		join(a);
		join(b);
		await a.lobby.expect("queue_joined");
		await a.lobby.expect("match_found");
		expect(await a.lobby.closed()).toEqual({ code: 1000, reason: "matched" });
		await b.lobby.waitFor("match_found");
		expect(await b.lobby.closed()).toEqual({ code: 1000, reason: "matched" });
	});

	it("closing a lobby socket leaves the queue", async () => {
		const name = lobbyName();
		const a = await initUser(name);
		join(a);
		await a.lobby.expect("queue_joined");
		a.lobby.close();
		await a.lobby.closed();
		const b = await initUser(name);
		join(b);
		expect(await b.lobby.expect("queue_joined")).toEqual({ waiting: 1 });
	});
});

describe("presence", () => {
	it("counts lobby users, waiting users and users in live chats", async () => {
		const name = lobbyName();
		const pair = await chattingPair(name);
		const waiting = await initUser(name);
		join(waiting);
		await waiting.lobby.expect("queue_joined");
		const watcher = await openLobby(name);
		watcher.send({ type: "init" });
		expect((await watcher.expect("ready")).presence).toEqual({ online: 4, waiting: 1, chatting: 2 });
		expect(await lobbyStub(name).stats()).toMatchObject({ online: 4, waiting: 1, chatting: 2, active_chats: 1 });
		// A chatting user back in the lobby (a reload) is counted once.
		await initUser(name, { user_id: pair.a.userId, token: pair.a.token });
		expect((await lobbyStub(name).stats()).online).toBe(4);
		pair.a.chat.send({ type: "leave_chat" });
		await pair.b.chat.expect("chat_ended");
		expect(await lobbyStub(name).stats()).toMatchObject({ online: 3, waiting: 1, chatting: 0, active_chats: 0 });
	});
});
