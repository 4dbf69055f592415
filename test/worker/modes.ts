// One user of the protocol in either mode, so that the same test runs against
// both (PROTOCOL.md 1.1, "One socket for everything"): with two sockets the
// user holds the lobby socket, then the chat's own, then the lobby again; with
// `/ws/single` one socket carries all of it. A test says what the user does
// (`send`, `enterChat`, `backToLobby`, `reconnect`) and reads what the current
// socket says; only this class knows which socket that is.
import { expect } from "vitest";
import type { ServerEventType, ServerPayload } from "../../src/protocol/schemas";
import { openChat, openLobby, openSingle, type TestSocket } from "./helpers";

export const MODES = ["two sockets", "one socket"] as const;
export type Mode = (typeof MODES)[number];

export class Person {
	private chatUrl: string | null = null;

	private constructor(
		readonly mode: Mode,
		private readonly lobbyName: string,
		private socket: TestSocket,
		readonly userId: string,
		readonly token: string,
	) {}

	/** A user that has sent `init` (with `resume`: an identity it had) and read `ready`, on the Matchmaker `lobbyName`. */
	static async init(mode: Mode, lobbyName: string, resume?: { user_id: string; token: string }): Promise<Person> {
		const socket = mode === "one socket" ? await openSingle(lobbyName) : await openLobby(lobbyName);
		socket.send({ type: "init", payload: resume ?? {} });
		const ready = await socket.expect("ready");
		return new Person(mode, lobbyName, socket, ready.user_id, ready.token);
	}

	/** The socket this user talks on now. */
	get current(): TestSocket {
		return this.socket;
	}

	send(event: unknown): void {
		this.socket.send(event);
	}

	expect<T extends ServerEventType>(type: T, timeoutMs?: number): Promise<ServerPayload<T>> {
		return this.socket.expect(type, timeoutMs);
	}

	waitFor<T extends ServerEventType>(type: T, timeoutMs?: number): Promise<ServerPayload<T>> {
		return this.socket.waitFor(type, timeoutMs);
	}

	expectError(code: string, timeoutMs?: number) {
		return this.socket.expectError(code, timeoutMs);
	}

	join(payload: Record<string, unknown> = { gender: "other", preference: "any" }): void {
		this.send({ type: "join_queue", payload });
	}

	/**
	 * Waits for `match_found` and enters the chat: with two sockets the lobby
	 * closes ("matched") and the chat socket is opened with the ticket; with one,
	 * the same socket is in the chat. Returns the match and `chat_joined`.
	 */
	async enterChat() {
		const match = await this.socket.waitFor("match_found");
		this.chatUrl = match.chat_url;
		if (this.mode === "two sockets") {
			await this.socket.closed();
			this.socket = await openChat(match.chat_url);
		}
		const joined = await this.socket.expect("chat_joined");
		return { match, joined };
	}

	/** After `chat_ended`: with two sockets, back on a new lobby socket with the same identity. */
	async backToLobby(): Promise<void> {
		if (this.mode === "one socket") return;
		await this.socket.closed();
		this.socket = await openLobby(this.lobbyName);
		this.socket.send({ type: "init", payload: { user_id: this.userId, token: this.token } });
		await this.socket.expect("ready");
	}

	/**
	 * The connection drops and comes back with `after` = the last message id
	 * this user has: the chat URL with `after=N`, or `init` with `after` on one
	 * socket (PROTOCOL.md 1.1). Returns the new `chat_joined`.
	 */
	async reconnect(after: number) {
		this.socket.close();
		await this.socket.closed();
		if (this.mode === "two sockets") {
			if (!this.chatUrl) throw new Error("not in a chat");
			this.socket = await openChat(this.chatUrl, after);
		} else {
			this.socket = await openSingle(this.lobbyName);
			this.socket.send({ type: "init", payload: { user_id: this.userId, token: this.token, after } });
			const ready = await this.socket.expect("ready");
			if (!ready.chat) throw new Error("ready without the live chat");
		}
		return this.socket.expect("chat_joined");
	}

	close(): void {
		this.socket.close();
	}
}

/** Two users of `mode` matched on `lobbyName` and both in the chat, each having read the other come online. */
export async function chattingPeople(mode: Mode, lobbyName: string) {
	const a = await Person.init(mode, lobbyName);
	const b = await Person.init(mode, lobbyName);
	a.join();
	await a.expect("queue_joined");
	b.join();
	await b.expect("queue_joined");
	const [inA, inB] = await Promise.all([a.enterChat(), b.enterChat()]);
	// Whoever was in first hears the other come online (on one socket both
	// chats open at once, so that may be either of them).
	for (const [person, entered] of [
		[a, inA],
		[b, inB],
	] as const) {
		if (!entered.joined.partner_online) expect(await person.expect("partner_status")).toEqual({ online: true });
	}
	return { a, b, chatId: inA.match.chat_id };
}
