// FlamingoClient under the network faults the soak injects, one at a time and
// deterministically, against the real `npm run dev`. Each test pins a failure
// the soak found (docs/RELIABILITY.md, "Failures found").
import { afterEach, describe, expect, it } from "vitest";
import { FlamingoClient as NodeFlamingoClient } from "../../src/client/flamingo-client";
import { initUser, joinQueue, openChat, useDevServer } from "../e2e/helpers";
import { allAcked, chatting, closeTabs, openTab, pair, received, show, sleep, until, waiting } from "./helpers";

const server = useDevServer({ vars: { PER_IP_LIMITS: "off" } });

afterEach(closeTabs);

/** partysocket's connectionTimeout in FlamingoClient: an attempt hanging this long is given up. */
const CONNECTION_TIMEOUT_MS = 8_000;

describe("FlamingoClient under faults", () => {
	it("messages written to a chat socket that died before the page read any arrive on rejoin (after=0)", async () => {
		// A's identity comes from a raw lobby socket, so that A's first chat socket can be a raw one too.
		const a0 = await initUser(server);
		joinQueue(a0, "female", "any");
		await a0.lobby.expect("queue_joined");
		const b = await openTab({ port: server.port });
		b.client.start({ gender: "male", preference: "any" });
		const match = await a0.lobby.expect("match_found");
		await until(b.client, "B in the chat", (s) => s.phase === "chatting" && s.connected);
		for (const text of ["one", "two", "three"]) b.client.send(text);
		await until(b.client, "B's three messages acked", (s) => s.transcript?.messages.length === 3 && allAcked(s));

		// A's page opens its chat socket: the server writes the three held messages
		// to it. The page is reloaded before it read any of them.
		const first = await openChat(match.chat_url);
		await first.expect("chat_joined");
		first.terminate();

		// The reloaded page: the stored identity, and the transcript FlamingoClient
		// saved at match_found (no message received yet, lastReceived 0).
		const a = await openTab({ port: server.port });
		a.local.setItem("flamingo.identity", JSON.stringify({ user_id: a0.userId, token: a0.token }));
		a.session.setItem("flamingo.chat", JSON.stringify({ chatId: match.chat_id, messages: [], lastReceived: 0 }));
		a.client.connect();
		await until(a.client, "A back in the chat", chatting);
		const s = await until(a.client, "the three held messages", (x) => received(x).length === 3, 5_000);
		expect(received(s)).toEqual(["one", "two", "three"]);
	});

	it("one socket: what the server wrote to a chat the page never heard of (its socket went dark while it waited) arrives when it comes back", async () => {
		const dark = { pingIntervalMs: 500, pongTimeoutMs: 1_000 };
		const a = await openTab({ port: server.port, proxy: true, singleSocket: true, minReconnectDelayMs: 200, ...dark });
		a.client.start({ gender: "female", preference: "female", interests: ["soak-single-dark"] });
		await until(a.client, "A waiting", waiting);
		// A's network goes dark: the Worker still moves A's socket into the chat on
		// match_found, and the chat writes B's messages to it; none reaches A.
		a.proxy?.blackhole(60_000);
		const b = await openTab({ port: server.port });
		b.client.start({ gender: "female", preference: "female", interests: ["soak-single-dark"] });
		await until(b.client, "B in the chat with A", chatting);
		for (const text of ["one", "two", "three"]) b.client.send(text);
		await until(b.client, "B's three messages acked", (s) => s.transcript?.messages.length === 3 && allAcked(s));
		await until(a.client, "A gives the dark socket up", (s) => !s.connected);
		expect(a.client.snapshot.phase).toBe("waiting");
		// The network is back: A's init brings back a chat A never heard of, from its start.
		a.proxy?.release();
		const s = await until(
			a.client,
			"A in the chat with the three",
			(x) => chatting(x) && received(x).length === 3,
			20_000,
		);
		expect(received(s)).toEqual(["one", "two", "three"]);
	});

	it("a lobby reconnect that hangs past the connection timeout is tried again", async () => {
		const a = await openTab({ port: server.port, proxy: true, minReconnectDelayMs: 200, maxReconnectDelayMs: 1_000 });
		a.client.start({ gender: "other", preference: "other", interests: ["soak-lobby-timeout"] });
		await until(a.client, "A waiting", waiting);
		// The network goes dark and the connection drops: the reconnect attempt hangs.
		a.proxy?.blackhole(CONNECTION_TIMEOUT_MS + 4_000);
		a.proxy?.terminate();
		await until(a.client, "A disconnected", (s) => !s.connected);
		// Once the network is back, the client must be queued again.
		await until(a.client, "A queued again", waiting, CONNECTION_TIMEOUT_MS + 4_000 + 10_000);
	});

	it("a chat reconnect that hangs past the connection timeout is tried again, and nothing is lost", async () => {
		const a = await openTab({ port: server.port, proxy: true, minReconnectDelayMs: 200, maxReconnectDelayMs: 1_000 });
		const b = await openTab({ port: server.port });
		await pair(a, b);
		a.proxy?.blackhole(CONNECTION_TIMEOUT_MS + 4_000);
		a.proxy?.terminate();
		await until(b.client, "B sees A offline", (s) => !s.partnerOnline);
		b.client.send("while you were away");
		await until(b.client, "acked while A was away", allAcked);
		const s = await until(
			a.client,
			"A back in the chat with the message",
			(x) => chatting(x) && received(x).includes("while you were away"),
			CONNECTION_TIMEOUT_MS + 4_000 + 10_000,
		);
		expect(s.phase).toBe("chatting");
	});

	it("a chat connection that goes dark without closing is given up when a ping goes unanswered, and comes back", async () => {
		const dark = { pingIntervalMs: 500, pongTimeoutMs: 1_000 };
		const a = await openTab({ port: server.port, proxy: true, minReconnectDelayMs: 200, ...dark });
		const b = await openTab({ port: server.port });
		await pair(a, b);
		const darkMs = 6_000;
		const darkFrom = Date.now();
		a.proxy?.blackhole(darkMs);
		a.client.send("typed in the dark");
		// Nothing closed, yet the page must stop saying "connected" well before the network returns.
		await until(a.client, "A notices the dead connection", (s) => !s.connected, 4_000);
		expect(Date.now() - darkFrom).toBeLessThan(darkMs);
		const s = await until(a.client, "A back in the chat, its message acked", (x) => chatting(x) && allAcked(x), 20_000);
		expect(s.transcript?.messages.map((m) => m.content)).toContain("typed in the dark");
		await until(b.client, "B got it", (x) => received(x).includes("typed in the dark"), 10_000);
	});

	it("a lobby closed 'matched' whose match_found the client dropped (it was closing the socket) still reaches the chat", async () => {
		const a = await openTab({ port: server.port, proxy: true });
		a.client.start({ gender: "female", preference: "female", interests: ["soak-matched-race"] });
		await until(a.client, "A waiting", waiting);
		// A's connection stalls, both ways, while A is matched.
		a.proxy?.hold("up");
		a.proxy?.hold("down");
		const b = await openTab({ port: server.port });
		b.client.start({ gender: "female", preference: "female", interests: ["soak-matched-race"] });
		await until(b.client, "B matched", (s) => s.phase === "joining" || s.phase === "chatting");
		// A's side closes its socket cleanly (as a browser may do to a page it
		// freezes): a closing socket drops the frames still coming, so A's
		// match_found is dropped and only the server's close 1000 "matched" is read.
		const lobby = a.sockets.at(-1);
		expect(lobby?.url).toMatch(/\/ws$/);
		lobby?.close(1000);
		a.proxy?.release("down");
		await sleep(300);
		a.proxy?.release("up");
		// The match is recorded on the server: ready.chat would lead A to it.
		await until(a.client, "A in the chat after all", chatting, 15_000);
		await until(b.client, "B sees A", chatting);
	});

	it("in Node, a dropped chat socket reconnects to the chat without ending it", async () => {
		// The FlamingoClient module as Node imports it (partysocket's Node event path).
		const a = await openTab({ port: server.port, proxy: true, Client: NodeFlamingoClient });
		const b = await openTab({ port: server.port, Client: NodeFlamingoClient });
		await pair(a, b);
		const phases: string[] = [];
		a.client.subscribe((s) => {
			if (phases.at(-1) !== s.phase) phases.push(s.phase);
		});
		a.proxy?.terminate();
		await until(a.client, "A disconnected", (s) => !s.connected);
		await until(a.client, "A back in the chat", chatting);
		await sleep(500);
		expect(phases, `phases after the drop; now ${show(a.client)}`).not.toContain("ended");
	});
});
