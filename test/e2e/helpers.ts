// Steps of the seed's flow against a running dev server, as a client would take them.
import { afterAll, afterEach, beforeAll, expect } from "vitest";
import type { Stats } from "../../src/protocol/schemas";
import { type DevServer, type DevServerOptions, startDevServer } from "./dev-server";
import { CHAT_ID, type Gender, type Preference, type ServerPayload, USER_ID } from "./protocol";
import { type ConnectOptions, closeAllClients, connect, type TestClient } from "./ws-client";

/**
 * One dev server for the calling test file: started before its tests, stopped
 * after them. Every client a test leaves open is closed after it; when a test
 * fails, the tail of the server's output is printed.
 */
export function useDevServer(options: DevServerOptions = {}): DevServer {
	let server: DevServer | undefined;
	beforeAll(async () => {
		server = await startDevServer(options);
	});
	afterEach(async (context) => {
		await closeAllClients();
		if (server && context.task.result?.state === "fail") {
			const reloads = server.reloads();
			const tail = server.output().split("\n").slice(-40).join("\n");
			console.error(
				`--- dev server output (last 40 lines) after "${context.task.name}"` +
					(reloads > 0 ? `; NOTE: wrangler reloaded the Worker ${reloads} time(s), a source file changed` : "") +
					` ---\n${tail}`,
			);
		}
	});
	afterAll(async () => {
		await closeAllClients();
		await server?.stop();
	});
	const current = (): DevServer => {
		if (!server) throw new Error("the dev server is not running (did beforeAll fail?)");
		return server;
	};
	// A stand-in usable at module level, forwarding to the server once started.
	return {
		get baseUrl() {
			return current().baseUrl;
		},
		get wsUrl() {
			return current().wsUrl;
		},
		get host() {
			return current().host;
		},
		get port() {
			return current().port;
		},
		output: () => current().output(),
		reloads: () => current().reloads(),
		stop: () => current().stop(),
	};
}

export interface User {
	lobby: TestClient;
	userId: string;
	token: string;
	ready: ServerPayload<"ready">;
}

export function openLobby(server: DevServer, options?: ConnectOptions): Promise<TestClient> {
	return connect(`${server.wsUrl}/ws`, options);
}

/** Opens `/ws`, sends `init` (resuming `resume` if given) and reads `ready`. */
export async function initUser(
	server: DevServer,
	resume?: { userId: string; token: string },
	options?: ConnectOptions,
): Promise<User> {
	const lobby = await openLobby(server, options);
	lobby.send({ type: "init", payload: resume ? { user_id: resume.userId, token: resume.token } : {} });
	const ready = await lobby.expect("ready");
	expect(ready.user_id).toMatch(USER_ID);
	expect(typeof ready.token).toBe("string");
	expect(ready.token.length).toBeGreaterThan(0);
	return { lobby, userId: ready.user_id, token: ready.token, ready };
}

export function joinQueue(user: User, gender: Gender, preference: Preference, interests?: string[]): void {
	user.lobby.send({ type: "join_queue", payload: { gender, preference, ...(interests ? { interests } : {}) } });
}

/** Asserts a `chat_url` is an absolute ws:// URL on this server for this chat and ticket. */
export function expectChatUrl(server: DevServer, ref: { chat_id: string; ticket: string; chat_url: string }): void {
	expect(ref.chat_id).toMatch(CHAT_ID);
	const url = new URL(ref.chat_url);
	expect(url.protocol).toBe("ws:");
	expect(url.host).toBe(server.host);
	expect(url.pathname).toBe(`/ws/chat/${ref.chat_id}`);
	expect(url.searchParams.get("ticket")).toBe(ref.ticket);
}

/** After `match_found` the server closes the lobby socket with 1000 "matched". */
export async function expectMatchedClose(user: User): Promise<void> {
	expect(await user.lobby.closed()).toEqual({ code: 1000, reason: "matched" });
}

export function openChat(chatUrl: string, after?: number, options?: ConnectOptions): Promise<TestClient> {
	return connect(after === undefined ? chatUrl : `${chatUrl}&after=${after}`, options);
}

export interface Matched {
	a: User;
	b: User;
	matchA: ServerPayload<"match_found">;
	matchB: ServerPayload<"match_found">;
}

/** Two fresh users who join the queue one after the other and get matched with each other. */
export async function matchTwo(
	server: DevServer,
	a: { gender: Gender; preference: Preference; interests?: string[] },
	b: { gender: Gender; preference: Preference; interests?: string[] },
	options?: ConnectOptions,
): Promise<Matched> {
	const ua = await initUser(server, undefined, options);
	const ub = await initUser(server, undefined, options);
	joinQueue(ua, a.gender, a.preference, a.interests);
	await ua.lobby.expect("queue_joined");
	joinQueue(ub, b.gender, b.preference, b.interests);
	await ub.lobby.expect("queue_joined");
	const [matchA, matchB] = await Promise.all([ua.lobby.expect("match_found"), ub.lobby.expect("match_found")]);
	expect(matchA.chat_id).toBe(matchB.chat_id);
	await Promise.all([expectMatchedClose(ua), expectMatchedClose(ub)]);
	return { a: ua, b: ub, matchA, matchB };
}

export interface Chatting extends Matched {
	chatA: TestClient;
	chatB: TestClient;
}

/** `matchTwo`, then both join the chat (A first). */
export async function chattingPair(
	server: DevServer,
	a: { gender: Gender; preference: Preference },
	b: { gender: Gender; preference: Preference },
	options?: ConnectOptions,
): Promise<Chatting> {
	const matched = await matchTwo(server, a, b, options);
	const chatA = await openChat(matched.matchA.chat_url, undefined, options);
	expect(await chatA.expect("chat_joined")).toEqual({ chat_id: matched.matchA.chat_id, partner_online: false });
	const chatB = await openChat(matched.matchB.chat_url, undefined, options);
	expect(await chatB.expect("chat_joined")).toEqual({ chat_id: matched.matchA.chat_id, partner_online: true });
	expect(await chatA.expect("partner_status")).toEqual({ online: true });
	return { ...matched, chatA, chatB };
}

/** Closes every client still open (test cleanup). */
export function closeAll(clients: Iterable<TestClient | undefined>): void {
	for (const c of clients) c?.close();
}

export type { Stats } from "../../src/protocol/schemas";

/**
 * How stale /api/stats may be: the Matchmaker publishes at most every 2 s,
 * and each Worker isolate caches the answer for 2 s.
 */
export const STATS_LAG_MS = 4_000;

/** `/api/stats` of a server under test, and a wait until it says what a test expects. */
export function statsOf(baseUrl: string) {
	const stats = async (): Promise<Stats> => (await (await fetch(`${baseUrl}/api/stats`)).json()) as Stats;
	const until = async (what: string, ok: (s: Stats) => boolean, timeoutMs: number): Promise<Stats> => {
		const deadline = Date.now() + timeoutMs;
		let last = await stats();
		while (!ok(last)) {
			if (Date.now() > deadline) {
				throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}; stats ${JSON.stringify(last)}`);
			}
			await new Promise((r) => setTimeout(r, 250));
			last = await stats();
		}
		return last;
	};
	return { stats, until };
}
