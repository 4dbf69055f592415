// Test clients over real WebSockets inside workerd: every frame is parsed with
// the protocol's own server schemas, and every wait is for an event, with a timeout.
import { env, exports } from "cloudflare:workers";
import { parseServer } from "../../src/protocol/codec";
import type { ServerEvent, ServerEventType, ServerPayload } from "../../src/protocol/schemas";
import { singleSocket } from "../../src/server/single-bridge";

type EventOf<T extends ServerEventType> = Extract<ServerEvent, { type: T }>;

function isType<T extends ServerEventType>(event: ServerEvent, type: T): event is EventOf<T> {
	return event.type === type;
}

export interface CloseInfo {
	code: number;
	reason: string;
}

export class TestSocket {
	private readonly inbox: ServerEvent[] = [];
	private readonly waiters: (() => void)[] = [];
	private closeInfo: CloseInfo | null = null;

	constructor(readonly ws: WebSocket) {
		ws.accept();
		ws.addEventListener("message", (e) => {
			const parsed = parseServer(e.data);
			if (!parsed.ok) throw new Error(`server sent an invalid frame: ${String(e.data)} (${parsed.message})`);
			this.inbox.push(parsed.event);
			this.wake();
		});
		ws.addEventListener("close", (e) => {
			this.closeInfo = { code: e.code, reason: e.reason };
			this.wake();
		});
	}

	private wake(): void {
		for (const w of this.waiters.splice(0)) w();
	}

	private async until<R>(what: string, take: () => R | undefined, timeoutMs: number): Promise<R> {
		const deadline = Date.now() + timeoutMs;
		for (;;) {
			const value = take();
			if (value !== undefined) return value;
			const left = deadline - Date.now();
			if (left <= 0) {
				throw new Error(
					`timed out after ${timeoutMs} ms waiting for ${what}; unread: ${JSON.stringify(this.inbox)}; closed: ${JSON.stringify(this.closeInfo)}`,
				);
			}
			await new Promise<void>((resolve) => {
				const timer = setTimeout(resolve, left);
				this.waiters.push(() => {
					clearTimeout(timer);
					resolve();
				});
			});
		}
	}

	send(event: unknown): void {
		this.ws.send(typeof event === "string" ? event : JSON.stringify(event));
	}

	/** The next frame, whatever it is. */
	next(timeoutMs = 5_000): Promise<ServerEvent> {
		return this.until("the next frame", () => this.inbox.shift(), timeoutMs);
	}

	/** The next frame, which must be of `type`. */
	async expect<T extends ServerEventType>(type: T, timeoutMs = 5_000): Promise<ServerPayload<T>> {
		const event = await this.next(timeoutMs);
		if (!isType(event, type)) throw new Error(`expected ${type}, got ${JSON.stringify(event)}`);
		return event.payload as ServerPayload<T>;
	}

	/** The first frame of `type`, skipping (and returning) any before it. */
	async waitFor<T extends ServerEventType>(type: T, timeoutMs = 5_000): Promise<ServerPayload<T>> {
		return this.until(
			type,
			() => {
				const i = this.inbox.findIndex((e) => e.type === type);
				if (i < 0) return undefined;
				const event = this.inbox.splice(0, i + 1).at(-1);
				return event && isType(event, type) ? (event.payload as ServerPayload<T>) : undefined;
			},
			timeoutMs,
		);
	}

	/** The error frame that must come next, for `code`. */
	async expectError(code: string, timeoutMs = 5_000) {
		const payload = await this.expect("error", timeoutMs);
		if (payload.code !== code) throw new Error(`expected error ${code}, got ${JSON.stringify(payload)}`);
		return payload;
	}

	closed(timeoutMs = 5_000): Promise<CloseInfo> {
		return this.until("close", () => this.closeInfo ?? undefined, timeoutMs);
	}

	get isClosed(): boolean {
		return this.closeInfo !== null;
	}

	/** Frames received and not read yet. */
	get unread(): readonly ServerEvent[] {
		return this.inbox;
	}

	close(code = 1000, reason = "bye"): void {
		try {
			this.ws.close(code, reason);
		} catch {
			// already closed
		}
	}
}

function socketOf(response: Response): WebSocket {
	if (response.status !== 101 || !response.webSocket) {
		throw new Error(`expected a WebSocket upgrade, got HTTP ${response.status}`);
	}
	return response.webSocket;
}

/** A Matchmaker of its own for one test, so tests never see each other's users. */
export function lobbyName(): string {
	return `test-${crypto.randomUUID()}`;
}

export function lobbyStub(name: string) {
	return env.MATCHMAKER.get(env.MATCHMAKER.idFromName(name));
}

export function chatStub(chatId: string) {
	return env.CHAT_ROOM.get(env.CHAT_ROOM.idFromName(chatId));
}

/** Opens a lobby socket on the test's own Matchmaker (`ip` as the Worker would pass it on). */
export async function openLobby(name: string, ip?: string): Promise<TestSocket> {
	const headers: Record<string, string> = { Upgrade: "websocket", ...(ip ? { "CF-Connecting-IP": ip } : {}) };
	const response = await lobbyStub(name).fetch("http://127.0.0.1:8787/ws", { headers });
	return new TestSocket(socketOf(response));
}

/** Opens a chat socket through the Worker, as a client would from `chat_url`. */
export async function openChat(chatUrl: string, after?: number): Promise<TestSocket> {
	const url = new URL(chatUrl.replace(/^ws/, "http"));
	if (after !== undefined) url.searchParams.set("after", String(after));
	const response = await exports.default.fetch(url.toString(), { headers: { Upgrade: "websocket" } });
	return new TestSocket(socketOf(response));
}

export interface Joined {
	lobby: TestSocket;
	userId: string;
	token: string;
}

/** A lobby socket that has sent `init` and read `ready`. */
export async function initUser(
	name: string,
	resume?: { user_id: string; token: string },
	ip?: string,
): Promise<Joined> {
	const lobby = await openLobby(name, ip);
	lobby.send({ type: "init", payload: resume ?? {} });
	const ready = await lobby.expect("ready");
	return { lobby, userId: ready.user_id, token: ready.token };
}

type Gender = "male" | "female" | "other";
type Preference = Gender | "any";

export function join(
	user: Joined,
	gender: Gender = "other",
	preference: Preference = "any",
	interests?: string[],
	ageBand?: "adult" | "teen",
): void {
	user.lobby.send({
		type: "join_queue",
		payload: { gender, preference, ...(interests ? { interests } : {}), ...(ageBand ? { age_band: ageBand } : {}) },
	});
}

export interface Pair {
	a: Joined & { chat: TestSocket; chatUrl: string };
	b: Joined & { chat: TestSocket; chatUrl: string };
	chatId: string;
}

/** Two users matched on their own Matchmaker, both joined to their chat. */
export async function chattingPair(name = lobbyName()): Promise<Pair> {
	const a = await initUser(name);
	const b = await initUser(name);
	join(a);
	await a.lobby.expect("queue_joined");
	join(b);
	await b.lobby.expect("queue_joined");
	const [ma, mb] = await Promise.all([a.lobby.expect("match_found"), b.lobby.expect("match_found")]);
	const chatA = await openChat(ma.chat_url);
	await chatA.expect("chat_joined");
	const chatB = await openChat(mb.chat_url);
	await chatB.expect("chat_joined");
	await chatA.expect("partner_status");
	return {
		a: { ...a, chat: chatA, chatUrl: ma.chat_url },
		b: { ...b, chat: chatB, chatUrl: mb.chat_url },
		chatId: ma.chat_id,
	};
}

// ---- /ws/single -----------------------------------------------------------

/**
 * Opens a `/ws/single` socket. With `name`, the bridge runs against the
 * test's own Matchmaker (so tests never match each other's users); without,
 * through the Worker's real route and its global Matchmaker.
 */
export async function openSingle(name?: string, headers: Record<string, string> = {}): Promise<TestSocket> {
	const url = "http://127.0.0.1:8787/ws/single";
	const init = { headers: { Upgrade: "websocket", ...headers } };
	const response =
		name === undefined
			? await exports.default.fetch(url, init)
			: await singleSocket(new Request(url, init), { lobby: () => lobbyStub(name), chat: chatStub });
	return new TestSocket(socketOf(response));
}

export interface SingleUser {
	ws: TestSocket;
	userId: string;
	token: string;
}

/** A `/ws/single` socket that has sent `init` and read `ready`. */
export async function initSingle(
	name?: string,
	resume?: { user_id: string; token: string; after?: number },
): Promise<SingleUser> {
	const ws = await openSingle(name);
	ws.send({ type: "init", payload: resume ?? {} });
	const ready = await ws.expect("ready");
	return { ws, userId: ready.user_id, token: ready.token };
}
