// Hostile clients against the lobby (PROTOCOL.md 1.1): sockets that never say
// init, frames before init, frames too big to read, many sockets from one
// address, and a replaced socket that keeps talking.
import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { Matchmaker } from "../../src/app/matchmaker/matchmaker";
import { PING_FRAME } from "../../src/protocol/codec";
import { INIT_TIMEOUT_MS, MAX_LOBBY_SOCKETS_PER_ADDRESS } from "../../src/protocol/schemas";
import { chattingPair, initUser, join, lobbyName, lobbyStub, openLobby, type TestSocket } from "./helpers";

type Inner = { timings: { initTimeoutMs: number } };

/** Makes every pending init deadline due now and runs the lobby's alarm. */
async function initDeadlinePasses(name: string): Promise<void> {
	const stub = lobbyStub(name);
	await runInDurableObject(stub, (lobby: Matchmaker) => {
		(lobby as unknown as Inner).timings.initTimeoutMs = -1;
	});
	expect(await runDurableObjectAlarm(stub)).toBe(true);
}

describe("init deadline", () => {
	it("a socket that says no init within 10 s is closed 4408; the auto-answered ping does not count", async () => {
		const name = lobbyName();
		const openedAt = Date.now();
		const silent = await openLobby(name);
		silent.send(PING_FRAME);
		await silent.expect("pong");
		const initialised = await initUser(name);
		// The deadline is on the alarm: due within a second after the 10 s.
		const alarm = await runInDurableObject(lobbyStub(name), (_: Matchmaker, state) => state.storage.getAlarm());
		expect(alarm).not.toBeNull();
		expect(alarm ?? 0).toBeLessThanOrEqual(Date.now() + INIT_TIMEOUT_MS + 1_000);
		expect(alarm ?? 0).toBeGreaterThanOrEqual(openedAt + INIT_TIMEOUT_MS);

		await initDeadlinePasses(name);
		expect(await silent.closed()).toEqual({ code: 4408, reason: "init timeout" });
		// Who said init in time stays.
		initialised.lobby.send({ type: "ping", payload: {} });
		await initialised.lobby.expect("pong");
	});
});

describe("frames before init", () => {
	it("the first two are answered (pong, not_initialized); the 3rd closes the socket with 1008", async () => {
		const lobby = await openLobby(lobbyName());
		lobby.send({ type: "ping", payload: {} });
		await lobby.expect("pong");
		lobby.send({ type: "join_queue", payload: { gender: "male", preference: "any" } });
		await lobby.expectError("not_initialized");
		lobby.send({ type: "ping", payload: {} });
		expect(await lobby.closed()).toEqual({ code: 1008, reason: "init required" });
		expect(lobby.unread).toEqual([]);
	});

	it("a frame that is not even JSON counts too", async () => {
		const lobby = await openLobby(lobbyName());
		for (const frame of ["nope", "{]"]) {
			lobby.send(frame);
			await lobby.expectError("bad_frame");
		}
		lobby.send("again");
		expect((await lobby.closed()).code).toBe(1008);
	});

	it("two frames and then init is fine, and the auto-answered ping never counts", async () => {
		const name = lobbyName();
		const lobby = await openLobby(name);
		for (let i = 0; i < 5; i++) {
			lobby.send(PING_FRAME);
			await lobby.expect("pong");
		}
		lobby.send({ type: "ping", payload: {} });
		await lobby.expect("pong");
		lobby.send({ type: "leave_queue" });
		await lobby.expectError("not_initialized");
		lobby.send({ type: "init" });
		await lobby.expect("ready");
		// After init, frames are not counted any more.
		for (let i = 0; i < 4; i++) {
			lobby.send({ type: "leave_queue" });
			await lobby.expectError("not_queued");
		}
	});
});

describe("frames too big to read", () => {
	it("over 64 KiB closes a lobby socket with 1009; over 16 KiB is bad_frame and the socket stays", async () => {
		const name = lobbyName();
		const user = await initUser(name);
		user.lobby.send(`{"type":"ping","payload":{"x":"${"a".repeat(20 * 1024)}"}}`);
		await user.lobby.expectError("bad_frame");
		user.lobby.send(`{"type":"ping","payload":{"x":"${"a".repeat(64 * 1024)}"}}`);
		expect(await user.lobby.closed()).toEqual({ code: 1009, reason: "message too big" });
	});

	it("counts UTF-8 bytes: 30,000 three-byte characters are over 64 KiB", async () => {
		const lobby = await openLobby(lobbyName());
		lobby.send(`{"type":"init","payload":{"user_id":"${"€".repeat(30_000)}"}}`);
		expect((await lobby.closed()).code).toBe(1009);
	});

	it("a binary frame over 64 KiB is closed 1009 too", async () => {
		const lobby = await openLobby(lobbyName());
		lobby.ws.send(new Uint8Array(65 * 1024));
		expect((await lobby.closed()).code).toBe(1009);
	});

	it("over 64 KiB closes a chat socket with 1009; the partner sees it go offline", async () => {
		const pair = await chattingPair();
		pair.a.chat.send({ type: "send_message", payload: { content: "x".repeat(70 * 1024) } });
		expect(await pair.a.chat.closed()).toEqual({ code: 1009, reason: "message too big" });
		expect(await pair.b.chat.waitFor("partner_status")).toEqual({ online: false });
	});
});

describe("open lobby sockets per address", () => {
	it(`at most ${MAX_LOBBY_SOCKETS_PER_ADDRESS} from one IPv4 address; the next is HTTP 429 with Retry-After`, async () => {
		const name = lobbyName();
		const held: TestSocket[] = [];
		for (let i = 0; i < MAX_LOBBY_SOCKETS_PER_ADDRESS; i++) held.push(await openLobby(name, "192.0.2.44"));
		const refused = await lobbyStub(name).fetch("http://127.0.0.1:8787/ws", {
			headers: { Upgrade: "websocket", "CF-Connecting-IP": "192.0.2.44" },
		});
		expect(refused.status).toBe(429);
		expect(Number(refused.headers.get("Retry-After"))).toBeGreaterThan(0);
		// Another address is not affected.
		const other = await openLobby(name, "192.0.2.45");
		other.send({ type: "init" });
		await other.expect("ready");
		// A socket that closes makes room for one more.
		held[0]?.close();
		await held[0]?.closed();
		const again = await openLobby(name, "192.0.2.44");
		again.send({ type: "init" });
		await again.expect("ready");
	});

	it("an IPv6 /64 is one address: rotating the interface id does not escape the cap", async () => {
		const name = lobbyName();
		for (let i = 1; i <= MAX_LOBBY_SOCKETS_PER_ADDRESS; i++) {
			await openLobby(name, `2001:db8:5:6:${i.toString(16)}::1`);
		}
		const refused = await lobbyStub(name).fetch("http://127.0.0.1:8787/ws", {
			headers: { Upgrade: "websocket", "CF-Connecting-IP": "2001:db8:5:6:ffff:ffff:ffff:ffff" },
		});
		expect(refused.status).toBe(429);
		const neighbour = await openLobby(name, "2001:db8:5:7::1");
		neighbour.send({ type: "init" });
		await neighbour.expect("ready");
	});
});

describe("a replaced socket", () => {
	it("what it still sends after the newer socket took over is ignored", async () => {
		const name = lobbyName();
		const stub = lobbyStub(name);
		const first = await initUser(name);
		// The first socket's server side, to deliver a frame to it late, as the runtime may.
		await runInDurableObject(stub, (_: Matchmaker, state) => {
			const [ws] = state.getWebSockets();
			replaced.set(name, ws as WebSocket);
		});
		const second = await initUser(name, { user_id: first.userId, token: first.token });
		expect((await first.lobby.closed()).code).toBe(4409);
		await runInDurableObject(stub, async (lobby: Matchmaker) => {
			const old = replaced.get(name) as WebSocket;
			await lobby.webSocketMessage(
				old,
				JSON.stringify({ type: "join_queue", payload: { gender: "female", preference: "female" } }),
			);
		});
		// The user is not queued with the old socket's settings: the new socket's join works.
		join(second, "male", "any");
		expect(await second.lobby.expect("queue_joined")).toEqual({ waiting: 1 });
		expect((await stub.stats()).waiting).toBe(1);
	});
});

const replaced = new Map<string, WebSocket>();
