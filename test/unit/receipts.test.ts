// Delivery receipts from the client's side: the pure Receipts scheduler with a
// hand-driven clock, then FlamingoClient itself over a scripted stand-in for
// WebSocket (no server): which frames it writes, and when.
import { afterEach, describe, expect, it } from "vitest";
import { FlamingoClient, type KeyValueStorage, type Snapshot } from "../../src/client/flamingo-client";
import { Receipts, type Timers } from "../../src/client/receipts";
import { RECEIPT_WITHIN_MS } from "../../src/protocol/schemas";

/** Timers that only run when the test says so. */
class ManualTimers implements Timers {
	private next = 1;
	readonly due = new Map<number, () => void>();
	set(fn: () => void): unknown {
		const id = this.next++;
		this.due.set(id, fn);
		return id;
	}
	clear(handle: unknown): void {
		this.due.delete(handle as number);
	}
	runAll(): void {
		const fns = [...this.due.values()];
		this.due.clear();
		for (const fn of fns) fn();
	}
}

function scheduler(open = () => true) {
	const timers = new ManualTimers();
	const sent: number[] = [];
	const receipts = new Receipts(
		(upTo) => {
			if (!open()) return false;
			sent.push(upTo);
			return true;
		},
		50,
		timers,
	);
	return { receipts, timers, sent };
}

describe("Receipts", () => {
	it("a burst shares one receipt for the highest id, sent when the timer fires", () => {
		const { receipts, timers, sent } = scheduler();
		receipts.got(1);
		receipts.got(2);
		receipts.got(3);
		expect(timers.due.size).toBe(1);
		expect(sent).toEqual([]);
		timers.runAll();
		expect(sent).toEqual([3]);
		expect(receipts.pending).toBe(false);
		expect(timers.due.size).toBe(0);
		receipts.got(4);
		timers.runAll();
		expect(sent).toEqual([3, 4]);
	});

	it("ids need not be consecutive; a lower id (a replay) is answered with the highest", () => {
		const { receipts, timers, sent } = scheduler();
		receipts.got(7);
		receipts.got(40);
		timers.runAll();
		receipts.got(12);
		timers.runAll();
		expect(sent).toEqual([40, 40]);
	});

	it("flush sends what is owed at once and cancels the timer; nothing owed, nothing sent", () => {
		const { receipts, timers, sent } = scheduler();
		receipts.flush();
		expect(sent).toEqual([]);
		receipts.got(2);
		receipts.flush();
		expect(sent).toEqual([2]);
		expect(timers.due.size).toBe(0);
		receipts.flush();
		expect(sent).toEqual([2]);
	});

	it("a receipt the socket cannot take is kept for the next flush", () => {
		let open = false;
		const { receipts, timers, sent } = scheduler(() => open);
		receipts.got(5);
		timers.runAll();
		expect(sent).toEqual([]);
		expect(receipts.pending).toBe(true);
		open = true;
		receipts.flush();
		expect(sent).toEqual([5]);
		expect(receipts.pending).toBe(false);
	});

	it("never confirms id 0", () => {
		const { receipts, timers, sent } = scheduler();
		receipts.got(0);
		expect(timers.due.size).toBe(0);
		receipts.flush();
		expect(sent).toEqual([]);
	});

	it("reset forgets everything: a new chat", () => {
		const { receipts, timers, sent } = scheduler();
		receipts.got(3);
		receipts.reset();
		expect(timers.due.size).toBe(0);
		expect(receipts.upTo).toBe(0);
		receipts.flush();
		expect(sent).toEqual([]);
	});

	it("restore (a reload, a rejoin) confirms again what the kept transcript has, at the next flush", () => {
		const { receipts, timers, sent } = scheduler();
		receipts.restore(0);
		receipts.flush();
		expect(sent).toEqual([]);
		receipts.restore(3);
		expect(timers.due.size).toBe(0); // it waits for the socket (chat_joined), not for a timer
		receipts.flush();
		expect(sent).toEqual([3]);
		receipts.got(2); // a replay: the highest is still 3
		timers.runAll();
		expect(sent).toEqual([3, 3]);
	});

	it("hold stops the timer and keeps what is owed", () => {
		const { receipts, timers, sent } = scheduler();
		receipts.got(4);
		receipts.hold();
		expect(timers.due.size).toBe(0);
		expect(receipts.pending).toBe(true);
		receipts.flush();
		expect(sent).toEqual([4]);
	});
});

// ---- FlamingoClient over a scripted socket ------------------------------------------

type Frame = { type: string; payload?: Record<string, unknown> };

class FakeMessageEvent extends Event {
	readonly data: string;
	constructor(type: string, init: { data: string }) {
		super(type);
		this.data = init.data;
	}
}

class FakeCloseEvent extends Event {
	readonly code: number;
	readonly reason: string;
	readonly wasClean = true;
	constructor(type: string, init: { code: number; reason: string }) {
		super(type);
		this.code = init.code;
		this.reason = init.reason;
	}
}

/** The server's end of one socket the client opened. */
class FakeSocket extends EventTarget {
	static readonly CONNECTING = 0;
	static readonly OPEN = 1;
	static readonly CLOSING = 2;
	static readonly CLOSED = 3;
	private static waiting: ((s: FakeSocket) => void)[] = [];
	static readonly all: FakeSocket[] = [];

	readyState = FakeSocket.CONNECTING;
	binaryType = "blob";
	readonly frames: Frame[] = [];
	private readonly frameWaiters = new Set<() => void>();

	constructor(readonly url: string) {
		super();
		FakeSocket.all.push(this);
		// A test acts as the server only from the next task on, as a network's events come: the
		// client may create a socket before it listens to it (reconnecting.ts takes it over in microtasks).
		for (const w of FakeSocket.waiting.splice(0)) setTimeout(() => w(this));
	}

	/** The next socket the client opens (or the newest one, if it already opened it). */
	static next(timeoutMs = 2_000): Promise<FakeSocket> {
		return within(timeoutMs, "a new socket", (resolve) => FakeSocket.waiting.push(resolve));
	}

	send(data: string): void {
		// The client must never write to a socket that is not open.
		if (this.readyState !== FakeSocket.OPEN) throw new Error(`send on a socket in state ${this.readyState}: ${data}`);
		this.frames.push(JSON.parse(data) as Frame);
		for (const w of [...this.frameWaiters]) w();
	}

	close(code = 1000, reason = ""): void {
		if (this.readyState === FakeSocket.CLOSED) return;
		this.readyState = FakeSocket.CLOSED;
		this.dispatchEvent(new FakeCloseEvent("close", { code, reason }));
	}

	// -- what the server does --

	open(): void {
		this.readyState = FakeSocket.OPEN;
		this.dispatchEvent(new Event("open"));
	}

	serve(type: string, payload: object): void {
		this.dispatchEvent(new FakeMessageEvent("message", { data: JSON.stringify({ type, payload }) }));
	}

	/** The connection drops (the server or the network closes it). */
	drop(code = 1006, reason = ""): void {
		this.close(code, reason);
	}

	framesOf(type: string): Frame[] {
		return this.frames.filter((f) => f.type === type);
	}

	/** Waits until the frames written so far satisfy `ok`. */
	until(what: string, ok: (frames: Frame[]) => boolean, timeoutMs = 2_000): Promise<Frame[]> {
		return within(timeoutMs, `${what}; frames: ${JSON.stringify(this.frames)}`, (resolve) => {
			const check = () => {
				if (!ok(this.frames)) return;
				this.frameWaiters.delete(check);
				resolve(this.frames);
			};
			this.frameWaiters.add(check);
			check();
		});
	}
}

function within<T>(timeoutMs: number, what: string, start: (resolve: (value: T) => void) => void): Promise<T> {
	return new Promise<T>((resolve, reject) => {
		const timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), timeoutMs);
		start((value) => {
			clearTimeout(timer);
			resolve(value);
		});
	});
}

class MemoryStorage implements KeyValueStorage {
	readonly map = new Map<string, string>();
	getItem(key: string) {
		return this.map.get(key) ?? null;
	}
	setItem(key: string, value: string) {
		this.map.set(key, value);
	}
	removeItem(key: string) {
		this.map.delete(key);
	}
}

const CHAT_ID = "0123456789abcdef0123456789abcdef";
const RECEIPT_DELAY_MS = 20;
const clients: FlamingoClient[] = [];

afterEach(() => {
	for (const c of clients.splice(0)) c.close();
});

function newClient(session = new MemoryStorage()): FlamingoClient {
	const client = new FlamingoClient({
		baseUrl: "http://flamingo.test",
		storage: new MemoryStorage(),
		sessionStorage: session,
		WebSocket: FakeSocket as unknown as typeof WebSocket,
		minReconnectDelayMs: 5,
		maxReconnectDelayMs: 20,
		pingIntervalMs: 60_000,
		receiptDelayMs: RECEIPT_DELAY_MS,
	});
	clients.push(client);
	return client;
}

function until(client: FlamingoClient, what: string, ok: (s: Snapshot) => boolean, timeoutMs = 2_000) {
	return within<Snapshot>(timeoutMs, `${what}; last snapshot: ${JSON.stringify(client.snapshot)}`, (resolve) => {
		if (ok(client.snapshot)) return resolve(client.snapshot);
		const stop = client.subscribe((s) => {
			if (!ok(s)) return;
			stop();
			resolve(s);
		});
	});
}

/** Opens a chat socket the way the client would after a match, and joins it. */
async function joinChat(): Promise<{ client: FlamingoClient; chat: FakeSocket; session: MemoryStorage }> {
	const session = new MemoryStorage();
	const client = newClient(session);
	const lobbyNext = FakeSocket.next();
	client.start({ gender: "female", preference: "any" });
	const lobby = await lobbyNext;
	lobby.open();
	lobby.serve("ready", {
		user_id: "0123456789abcdef",
		token: "token",
		resumed: false,
		presence: { online: 1, waiting: 0, chatting: 0 },
	});
	await lobby.until("join_queue", (f) => f.some((x) => x.type === "join_queue"));
	const chatNext = FakeSocket.next();
	lobby.serve("match_found", {
		chat_id: CHAT_ID,
		ticket: "T",
		chat_url: `ws://flamingo.test/ws/chat/${CHAT_ID}?ticket=T`,
		partner: { gender: "male" },
		shared_interests: [],
	});
	const chat = await chatNext;
	chat.open();
	chat.serve("chat_joined", { chat_id: CHAT_ID, partner_online: true });
	await until(client, "chatting", (s) => s.phase === "chatting" && s.connected);
	return { client, chat, session };
}

const message = (id: number, content: string, clientMsgId?: string) => ({
	chat_id: CHAT_ID,
	message_id: id,
	content,
	sent_at: 1_000 + id,
	...(clientMsgId ? { client_msg_id: clientMsgId } : {}),
});

const receiptsOf = (socket: FakeSocket) => socket.framesOf("received").map((f) => f.payload?.up_to);
const states = (s: Snapshot) => (s.transcript?.messages ?? []).filter((m) => m.mine).map((m) => m.state);

describe("FlamingoClient delivery receipts", () => {
	it("answers a burst of messages with one receipt for the highest id, within 100 ms", async () => {
		const { client, chat } = await joinChat();
		const first = Date.now();
		chat.serve("message_received", message(1, "a"));
		chat.serve("message_received", message(2, "b"));
		chat.serve("message_received", message(3, "c"));
		expect(receiptsOf(chat)).toEqual([]); // not one per message
		await chat.until("a receipt", (f) => f.some((x) => x.type === "received"));
		expect(Date.now() - first).toBeLessThan(RECEIPT_WITHIN_MS);
		expect(receiptsOf(chat)).toEqual([3]);
		expect(client.snapshot.transcript?.messages.map((m) => m.content)).toEqual(["a", "b", "c"]);
		// The next message gets its own receipt.
		chat.serve("message_received", message(4, "d"));
		await chat.until("a second receipt", (f) => f.filter((x) => x.type === "received").length === 2);
		expect(receiptsOf(chat)).toEqual([3, 4]);
	});

	it("drops a copy by client_msg_id but counts its id: for the receipt and for after=N", async () => {
		const { client, chat } = await joinChat();
		chat.serve("message_received", message(1, "hello", "their-1"));
		await chat.until("receipt 1", (f) => f.some((x) => x.type === "received"));
		// The server restarted before our receipt reached it: the same message, a new (jumped) id.
		chat.serve("message_received", message(17, "hello", "their-1"));
		await chat.until("receipt 17", (f) => f.filter((x) => x.type === "received").length === 2);
		expect(receiptsOf(chat)).toEqual([1, 17]);
		const t = client.snapshot.transcript;
		expect(t?.messages.map((m) => m.content)).toEqual(["hello"]);
		expect(t?.lastReceived).toBe(17);
		// A reconnect asks for what comes after the copy.
		const next = FakeSocket.next();
		chat.drop();
		expect(new URL((await next).url).searchParams.get("after")).toBe("17");
	});

	it("a reloaded page still drops a copy of a message it showed before the reload", async () => {
		const { chat, session } = await joinChat();
		chat.serve("message_received", message(2, "before the reload", "their-1"));
		await chat.until("receipt", (f) => f.some((x) => x.type === "received"));
		const reloaded = newClient(session);
		expect(reloaded.snapshot.transcript?.messages.map((m) => m.content)).toEqual(["before the reload"]);
		const lobbyNext = FakeSocket.next();
		reloaded.connect();
		const lobby = await lobbyNext;
		lobby.open();
		const chatNext = FakeSocket.next();
		lobby.serve("ready", {
			user_id: "0123456789abcdef",
			token: "token",
			resumed: true,
			presence: { online: 1, waiting: 0, chatting: 2 },
			chat: { chat_id: CHAT_ID, ticket: "T2", chat_url: `ws://flamingo.test/ws/chat/${CHAT_ID}?ticket=T2` },
		});
		const again = await chatNext;
		expect(new URL(again.url).searchParams.get("after")).toBe("2");
		again.open();
		again.serve("chat_joined", { chat_id: CHAT_ID, partner_online: true });
		// What the old page had is confirmed again at once: its receipt may have been lost with it.
		expect(receiptsOf(again)).toEqual([2]);
		again.serve("message_received", message(9, "before the reload", "their-1"));
		again.serve("message_received", message(10, "after the reload", "their-2"));
		await again.until("receipt", (f) => f.filter((x) => x.type === "received").length === 2);
		expect(receiptsOf(again)).toEqual([2, 10]);
		expect(reloaded.snapshot.transcript?.messages.map((m) => m.content)).toEqual([
			"before the reload",
			"after the reload",
		]);
	});

	it("a receipt still waiting goes out before leave_chat", async () => {
		const { client, chat } = await joinChat();
		chat.serve("message_received", message(1, "bye?"));
		client.leave();
		expect(chat.frames.map((f) => f.type)).toEqual(["received", "leave_chat"]);
		expect(receiptsOf(chat)).toEqual([1]);
	});

	it("a receipt still waiting goes out before report", async () => {
		const { client, chat } = await joinChat();
		chat.serve("message_received", message(3, "rude"));
		client.report("harassment");
		expect(chat.frames.map((f) => f.type)).toEqual(["received", "report"]);
		expect(receiptsOf(chat)).toEqual([3]);
	});

	it("never writes a receipt on a closed socket: one owed while it was down goes out after chat_joined", async () => {
		const { client, chat } = await joinChat();
		chat.serve("message_received", message(5, "just before the drop"));
		const next = FakeSocket.next();
		chat.drop(); // FakeSocket.send throws on a closed socket, so a write would fail the test
		const back = await next;
		expect(receiptsOf(chat)).toEqual([]);
		expect(new URL(back.url).searchParams.get("after")).toBe("5");
		back.open();
		// Open but not joined yet: still nothing.
		expect(back.frames).toEqual([]);
		back.serve("chat_joined", { chat_id: CHAT_ID, partner_online: true });
		expect(back.frames[0]).toEqual({ type: "received", payload: { up_to: 5 } });
		expect(client.snapshot.phase).toBe("chatting");
	});

	it("a client closed with a receipt owed sends it once it is back in the chat", async () => {
		const { client, chat } = await joinChat();
		chat.serve("message_received", message(6, "and then the tab slept"));
		client.close();
		expect(receiptsOf(chat)).toEqual([]);
		const lobbyNext = FakeSocket.next();
		client.connect();
		const lobby = await lobbyNext;
		lobby.open();
		const chatNext = FakeSocket.next();
		lobby.serve("ready", {
			user_id: "0123456789abcdef",
			token: "token",
			resumed: true,
			presence: { online: 1, waiting: 0, chatting: 2 },
			chat: { chat_id: CHAT_ID, ticket: "T2", chat_url: `ws://flamingo.test/ws/chat/${CHAT_ID}?ticket=T2` },
		});
		const back = await chatNext;
		back.open();
		back.serve("chat_joined", { chat_id: CHAT_ID, partner_online: true });
		expect(back.frames[0]).toEqual({ type: "received", payload: { up_to: 6 } });
	});

	it("a leave asked for while the socket was down goes after the owed receipt", async () => {
		const { client, chat } = await joinChat();
		chat.serve("message_received", message(2, "x"));
		const next = FakeSocket.next();
		chat.drop();
		client.leave();
		const back = await next;
		back.open();
		back.serve("chat_joined", { chat_id: CHAT_ID, partner_online: true });
		expect(back.frames.map((f) => f.type)).toEqual(["received", "leave_chat"]);
	});

	it("never sends up_to 0, and a replay already shown is answered but not shown again", async () => {
		const { client, chat } = await joinChat();
		chat.serve("message_received", message(0, "id zero"));
		chat.serve("message_received", message(1, "one"));
		await chat.until("receipt", (f) => f.some((x) => x.type === "received"));
		chat.serve("message_received", message(1, "one"));
		await chat.until("receipt for the replay", (f) => f.filter((x) => x.type === "received").length === 2);
		expect(receiptsOf(chat)).toEqual([1, 1]);
		expect(client.snapshot.transcript?.messages.filter((m) => m.content === "one")).toHaveLength(1);
	});

	it("a refused receipt is not shown to the person", async () => {
		const { client, chat } = await joinChat();
		chat.serve("error", { code: "invalid_payload", message: "up_to: no such message", request_type: "received" });
		chat.serve("error", { code: "unknown_type", message: 'unknown event type "received"', request_type: "received" });
		expect(client.snapshot.error).toBeNull();
	});

	it("messages of another chat are neither shown nor answered", async () => {
		const { client, chat } = await joinChat();
		chat.serve("message_received", { ...message(4, "elsewhere"), chat_id: "f".repeat(32) });
		chat.serve("message_received", message(1, "here"));
		await chat.until("receipt", (f) => f.some((x) => x.type === "received"));
		expect(receiptsOf(chat)).toEqual([1]);
		expect(client.snapshot.transcript?.messages.map((m) => m.content)).toEqual(["here"]);
	});
});

describe("FlamingoClient own messages: sending → sent → delivered", () => {
	it("message_delivered marks every message up to up_to; a late ack does not undo it", async () => {
		const { client, chat } = await joinChat();
		const a = client.send("one");
		const b = client.send("two");
		const c = client.send("three");
		await chat.until("three sends", (f) => f.filter((x) => x.type === "send_message").length === 3);
		expect(states(client.snapshot)).toEqual(["sending", "sending", "sending"]);
		chat.serve("message_sent", { chat_id: CHAT_ID, message_id: 4, client_msg_id: a, sent_at: 1 });
		chat.serve("message_sent", { chat_id: CHAT_ID, message_id: 9, client_msg_id: b, sent_at: 2 }); // ids may jump
		expect(states(client.snapshot)).toEqual(["sent", "sent", "sending"]);
		chat.serve("message_delivered", { chat_id: CHAT_ID, up_to: 9 });
		expect(states(client.snapshot)).toEqual(["delivered", "delivered", "sending"]);
		// A repeated ack (a resend acked again) leaves them delivered.
		chat.serve("message_sent", { chat_id: CHAT_ID, message_id: 9, client_msg_id: b, sent_at: 2 });
		expect(states(client.snapshot)).toEqual(["delivered", "delivered", "sending"]);
		// Robust to an ack that comes after the receipt covering it.
		chat.serve("message_delivered", { chat_id: CHAT_ID, up_to: 10 });
		chat.serve("message_sent", { chat_id: CHAT_ID, message_id: 10, client_msg_id: c, sent_at: 3 });
		expect(states(client.snapshot)).toEqual(["delivered", "delivered", "delivered"]);
		// A message_delivered for another chat changes nothing.
		const before = client.snapshot.transcript;
		chat.serve("message_delivered", { chat_id: "f".repeat(32), up_to: 99 });
		expect(client.snapshot.transcript).toBe(before);
	});

	it("a slow ack: the message stays sending and is not written twice; after a reconnect it is resent by client_msg_id", async () => {
		const { client, chat } = await joinChat();
		const a = client.send("waiting for my ack");
		await chat.until("sent once", (f) => f.some((x) => x.type === "send_message"));
		// Other traffic while the ack takes its time (up to ~1 s when the partner sends no receipt).
		const b = client.send("another");
		chat.serve("message_received", message(1, "theirs"));
		await chat.until("receipt", (f) => f.some((x) => x.type === "received"));
		expect(chat.framesOf("send_message").map((f) => f.payload?.client_msg_id)).toEqual([a, b]);
		chat.serve("message_sent", { chat_id: CHAT_ID, message_id: 2, client_msg_id: b, sent_at: 5 });
		// The connection drops before a's ack: a (only) goes again, same client_msg_id.
		const next = FakeSocket.next();
		chat.drop();
		const back = await next;
		back.open();
		back.serve("chat_joined", { chat_id: CHAT_ID, partner_online: true });
		await back.until("resend", (f) => f.some((x) => x.type === "send_message"));
		expect(back.framesOf("send_message").map((f) => f.payload?.client_msg_id)).toEqual([a]);
		back.serve("message_sent", { chat_id: CHAT_ID, message_id: 3, client_msg_id: a, sent_at: 6 });
		back.serve("message_delivered", { chat_id: CHAT_ID, up_to: 3 });
		expect(client.snapshot.transcript?.messages.filter((m) => m.mine).map((m) => [m.content, m.state])).toEqual([
			["waiting for my ack", "delivered"],
			["another", "delivered"],
		]);
	});
});
