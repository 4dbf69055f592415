// FlamingoClient against the real `npm run dev`, with Node's WebSocket and
// in-memory storages standing in for localStorage and sessionStorage. Every
// behaviour is run twice: with the default two sockets (/ws, /ws/chat) and
// with `singleSocket` (/ws/single), where it must be the same.
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import {
	type ChatMessage,
	FlamingoClient,
	type KeyValueStorage,
	type MessageState,
	type Snapshot,
} from "../../src/client/flamingo-client";
import { RECEIPT_TIMEOUT_MS, RECEIPT_WITHIN_MS } from "../../src/protocol/schemas";
import { STATS_LAG_MS, statsOf, useDevServer } from "./helpers";
import { untilSnapshot } from "./snapshots";

const server = useDevServer({ vars: { PER_IP_LIMITS: "off" } });

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

interface Browser {
	client: FlamingoClient;
	local: MemoryStorage;
	session: MemoryStorage;
	/** Every frame this tab wrote, in order, with when (Date.now()). */
	sent: { type: string; payload: Record<string, unknown>; at: number }[];
	/** Every socket this tab opened, in order. */
	sockets: WebSocket[];
}

const open: FlamingoClient[] = [];
/** The mode of the describe block running now: every client it makes uses it. */
let singleSocket = false;

/**
 * A client as a browser tab would make it; `from` reuses another tab's
 * storages (a reload). `withoutReceipts`: it never writes `received`, as a
 * client written before receipts would not. `ownSession`: only `from`'s
 * localStorage is shared (another tab of the same browser, not a reload).
 */
function tab(
	from?: Browser,
	options: {
		withoutReceipts?: boolean;
		ownSession?: boolean;
		singleSocket?: boolean;
		/** Called with each new socket before the client listens to it: a listener added here runs first. */
		onSocket?: (ws: WebSocket) => void;
	} = {},
): Browser {
	const local = from?.local ?? new MemoryStorage();
	const session = (options.ownSession ? undefined : from?.session) ?? new MemoryStorage();
	const sent: Browser["sent"] = [];
	const sockets: WebSocket[] = [];
	const Recording = class extends WebSocket {
		constructor(url: string | URL, protocols?: string | string[]) {
			super(url, protocols);
			sockets.push(this);
			options.onSocket?.(this);
		}
		override send(data: Parameters<WebSocket["send"]>[0]): void {
			if (typeof data === "string" && data.startsWith("{")) {
				const frame = JSON.parse(data) as { type: string; payload?: Record<string, unknown> };
				if (options.withoutReceipts && frame.type === "received") return;
				sent.push({ type: frame.type, payload: frame.payload ?? {}, at: Date.now() });
			}
			super.send(data);
		}
	};
	const client = new FlamingoClient({
		baseUrl: server.baseUrl,
		storage: local,
		sessionStorage: session,
		minReconnectDelayMs: 100,
		maxReconnectDelayMs: 1000,
		WebSocket: Recording,
		singleSocket: options.singleSocket ?? singleSocket,
	});
	open.push(client);
	return { client, local, session, sent, sockets };
}

afterEach(() => {
	for (const c of open.splice(0)) c.close();
});

/** Waits for a snapshot satisfying `ok`, or fails after `timeoutMs` with the last one seen. */
const until = (client: FlamingoClient, what: string, ok: (s: Snapshot) => boolean, timeoutMs = 8_000) =>
	untilSnapshot(client, what, ok, timeoutMs);

/** Polls a condition on data the test records itself (frames written), with a timeout. */
async function waitFor<T>(what: string, take: () => T | undefined, timeoutMs = 5_000): Promise<T> {
	const deadline = Date.now() + timeoutMs;
	for (;;) {
		const value = take();
		if (value !== undefined) return value;
		if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
		await new Promise((r) => setTimeout(r, 10));
	}
}

const chatting = (s: Snapshot) => s.phase === "chatting" && s.connected && s.partnerOnline;
/** Acked: the server took it; sent, or already delivered (the partner's receipt may come with the ack). */
const isAcked = (m: ChatMessage | undefined) => m?.state === "sent" || m?.state === "delivered";
const mine = (s: Snapshot) => (s.transcript?.messages ?? []).filter((m) => m.mine);
const receiptsOf = (t: Browser) => t.sent.filter((f) => f.type === "received").map((f) => f.payload.up_to);

/** Every state a message of `client` (by key) went through, recorded from every snapshot from now on. */
function watchStates(client: FlamingoClient, key: string): MessageState[] {
	const seen: MessageState[] = [];
	const note = (s: Snapshot) => {
		const state = s.transcript?.messages.find((m) => m.key === key)?.state;
		if (state && seen.at(-1) !== state) seen.push(state);
	};
	note(client.snapshot);
	client.subscribe(note);
	return seen;
}
const texts = (s: Snapshot, mine: boolean) =>
	(s.transcript?.messages ?? []).filter((m) => m.mine === mine).map((m) => m.content);

/** Matches two tabs with each other: `a` waits first, then `b` starts, until both are chatting. */
async function pairOf(a: Browser, b: Browser, interests: string[] = []) {
	a.client.start({ gender: "female", preference: "any", interests });
	await until(a.client, "a waiting", (s) => s.phase === "waiting" && s.waiting !== null);
	b.client.start({ gender: "male", preference: "any", interests });
	await until(a.client, "a chatting", chatting);
	await until(b.client, "b chatting", chatting);
	return { a, b };
}

const pair = (interests: string[] = []) => pairOf(tab(), tab(), interests);

describe.each([
	{ mode: "two sockets", single: false },
	{ mode: "one socket (/ws/single)", single: true },
])("FlamingoClient, $mode", ({ single }) => {
	beforeAll(() => {
		singleSocket = single;
	});

	it("matches, goes into the chat, and relays both ways with acks", async () => {
		const { a, b } = await pair();
		expect(a.client.snapshot.partner).toEqual({ gender: "male", sharedInterests: [] });
		const key = a.client.send("  hello 🦩  ");
		expect(key).toMatch(/^[0-9a-f]{24}$/);
		expect(a.client.snapshot.transcript?.messages.at(-1)).toMatchObject({ content: "hello 🦩", state: "sending" });
		await until(a.client, "ack", (s) => isAcked(s.transcript?.messages.at(-1)));
		expect(a.client.snapshot.transcript?.messages.at(-1)?.messageId).toBe(1);
		await until(b.client, "delivery", (s) => texts(s, false).includes("hello 🦩"));
		b.client.setTyping(true);
		await until(a.client, "typing", (s) => s.partnerTyping);
		b.client.send("hi there");
		await until(a.client, "reply", (s) => texts(s, false).includes("hi there"));
		expect(a.client.snapshot.partnerTyping).toBe(false);
	});

	it("remembers the identity across tabs of the same browser", async () => {
		const first = tab();
		first.client.connect();
		const id = (await until(first.client, "ready", (s) => s.userId !== null)).userId;
		first.client.close();
		const second = tab(first);
		second.client.connect();
		expect((await until(second.client, "ready", (s) => s.userId !== null)).userId).toBe(id);
	});

	it("a reload mid-chat rejoins with after=N: held messages arrive, nothing twice, unacked ones resent", async () => {
		const { a, b } = await pair();
		a.client.send("before reload");
		await until(b.client, "first message", (s) => texts(s, false).length === 1);
		b.client.send("seen before reload");
		await until(a.client, "b's first", (s) => texts(s, false).length === 1);

		// The tab closes: its last message's ack never arrived, one more was typed offline.
		a.client.close();
		await until(b.client, "partner offline", (s) => !s.partnerOnline);
		b.client.send("while you were away");
		await until(b.client, "acked while away", (s) => isAcked(s.transcript?.messages.at(-1)));
		const saved = JSON.parse(a.session.getItem("flamingo.chat") ?? "null");
		saved.messages[0].state = "sending"; // the ack for "before reload" was lost
		saved.messages.push({ key: "deadbeefdeadbeefdeadbeef", mine: true, content: "typed offline", state: "sending" });
		a.session.setItem("flamingo.chat", JSON.stringify(saved));

		const reloaded = tab(a);
		expect(reloaded.client.snapshot.transcript?.messages).toHaveLength(3);
		reloaded.client.connect();
		const s = await until(
			reloaded.client,
			"rejoined and caught up",
			(x) => chatting(x) && texts(x, false).length === 2,
		);
		expect(texts(s, false)).toEqual(["seen before reload", "while you were away"]);
		await until(reloaded.client, "all acked", (x) =>
			(x.transcript?.messages ?? []).every((m) => m.state !== "sending"),
		);
		const got = await until(b.client, "typed offline", (x) => texts(x, false).includes("typed offline"));
		// "before reload" was accepted before: its resend is acked again, not delivered twice.
		expect(texts(got, false)).toEqual(["before reload", "typed offline"]);
		// Every message has its server id, each once (shown in the order they were written here).
		const ids = reloaded.client.snapshot.transcript?.messages.map((m) => m.messageId ?? 0) ?? [];
		expect([...ids].sort()).toEqual([1, 2, 3, 4]);
	});

	it("next: leaves, tells the partner, and looks again with the same preferences", async () => {
		const { a, b } = await pair();
		a.client.next();
		await until(b.client, "b ended", (s) => s.phase === "ended");
		expect(b.client.snapshot.endReason).toBe("partner_left");
		await until(a.client, "a waiting again", (s) => s.phase === "waiting" && s.waiting !== null);
		const c = tab();
		c.client.start({ gender: "other", preference: "any" });
		await until(c.client, "c chatting", chatting);
		await until(a.client, "a chatting with c", chatting);
		// b, a's last partner, may look again and is not matched with a.
		b.client.next();
		await until(b.client, "b waiting", (s) => s.phase === "waiting" && s.waiting !== null);
	});

	it("next after a reload mid-chat looks again with the preferences given before it", async () => {
		const { a, b } = await pair(["reloaded prefs"]);
		a.client.close();
		const reloaded = tab(a);
		reloaded.client.connect();
		await until(reloaded.client, "rejoined", chatting);
		reloaded.client.next();
		await until(b.client, "b ended", (s) => s.phase === "ended");
		const s = await until(reloaded.client, "waiting again", (x) => x.phase === "waiting" && x.waiting !== null);
		expect(s.withInterests).toBe(true);
		const join = reloaded.sent.find((f) => f.type === "join_queue");
		expect(join?.payload).toEqual({ gender: "female", preference: "any", interests: ["reloaded prefs"] });
	});

	it("a tab that took a chat over searches on next() with the preferences it was given, and says searching from the press on", async () => {
		const { a, b } = await pair();
		// Another tab of the same browser: the identity is shared, sessionStorage is its own (no start() there).
		const other = tab(a, { ownSession: true });
		other.client.setPreferences({ gender: "other", preference: "any", interests: ["taken over"], ageBand: "adult" });
		other.client.connect();
		const joined = await until(other.client, "the other tab chatting", chatting);
		expect(joined.searching).toBe(false);
		const seen: Snapshot[] = [];
		other.client.subscribe((s) => seen.push(s));
		other.client.next();
		expect(other.client.snapshot.searching).toBe(true);
		expect(other.client.snapshot.phase).toBe("chatting");
		await until(b.client, "b ended", (s) => s.phase === "ended");
		const s = await until(other.client, "waiting again", (x) => x.phase === "waiting" && x.waiting !== null);
		expect(s.withInterests).toBe(true);
		// The chat left by next() ends while the search is on: a page shows "looking" throughout.
		expect(seen.find((x) => x.phase === "ended")).toMatchObject({ endReason: "you_left", searching: true });
		expect(seen.every((x) => x.searching)).toBe(true);
		const join = other.sent.find((f) => f.type === "join_queue");
		expect(join?.payload).toEqual({ gender: "other", preference: "any", interests: ["taken over"], age_band: "adult" });
		other.client.cancel();
		expect(other.client.snapshot).toMatchObject({ phase: "idle", searching: false });
	});

	it("searching: true from start() while waiting, false from a match, a leave or a cancel", async () => {
		const a = tab();
		const b = tab();
		expect(a.client.snapshot.searching).toBe(false);
		a.client.start({ gender: "female", preference: "any" });
		expect(a.client.snapshot).toMatchObject({ phase: "waiting", searching: true });
		await until(a.client, "a waiting", (s) => s.phase === "waiting" && s.waiting !== null);
		b.client.start({ gender: "male", preference: "any" });
		expect((await until(a.client, "a matched", (s) => s.phase !== "waiting")).searching).toBe(false);
		await until(a.client, "a chatting", chatting);
		await until(b.client, "b chatting", chatting);
		a.client.leave();
		expect(a.client.snapshot.searching).toBe(false);
		expect((await until(a.client, "a ended", (s) => s.phase === "ended")).searching).toBe(false);
		// An ended chat not left by next() is followed by no search.
		await until(a.client, "a back in the lobby", (s) => s.connected);
		expect(a.client.snapshot).toMatchObject({ phase: "ended", endReason: "you_left", searching: false });
	});

	it("replaced: true from another tab's takeover (4409) until this tab connects again, through back()", async () => {
		const a = tab();
		a.client.connect();
		await until(a.client, "a connected", (s) => s.connected);
		expect(a.client.snapshot.replaced).toBe(false);
		const other = tab(a, { ownSession: true });
		other.client.connect();
		await until(other.client, "the other tab connected", (s) => s.connected);
		// The lobby's 4409: under wrangler dev its close event can come some seconds late.
		const taken = await until(a.client, "a replaced", (s) => s.replaced, 15_000);
		expect(taken).toMatchObject({ phase: "idle", connected: false, error: { code: "replaced" } });
		a.client.back();
		expect(a.client.snapshot).toMatchObject({ replaced: true, error: null });
		a.client.connect();
		expect(a.client.snapshot.replaced).toBe(false);
		await until(a.client, "a connected again", (s) => s.connected);
		expect((await until(other.client, "the other tab replaced", (s) => s.replaced, 15_000)).phase).toBe("idle");
	});

	it("replaced after a chat taken over by another tab; start() takes it back", async () => {
		const { a } = await pair();
		const other = tab(a, { ownSession: true });
		other.client.connect();
		await until(other.client, "the other tab chatting", chatting);
		const ended = await until(a.client, "a replaced", (s) => s.phase === "ended", 15_000);
		expect(ended).toMatchObject({ endReason: "replaced", replaced: true, searching: false });
		other.client.close();
		a.client.start({ gender: "female", preference: "any" });
		expect(a.client.snapshot.replaced).toBe(false);
		await until(a.client, "a back in the chat", chatting, 15_000);
	});

	it("report ends the chat on both sides", async () => {
		const { a, b } = await pair();
		a.client.report("spam");
		expect((await until(a.client, "a ended", (s) => s.phase === "ended")).endReason).toBe("you_reported");
		expect((await until(b.client, "b ended", (s) => s.phase === "ended")).endReason).toBe("partner_left");
		b.client.back();
		expect(b.client.snapshot.phase).toBe("idle");
	});

	it("reportEnded: the lobby's report of the chat that just ended, once; reported in endedChat; language goes with the search", async () => {
		const a = tab();
		const b = tab();
		a.client.start({ gender: "female", preference: "any", language: "pt" });
		await until(a.client, "a waiting", (s) => s.phase === "waiting" && s.waiting !== null);
		b.client.start({ gender: "male", preference: "any", language: "pt" });
		await until(a.client, "a chatting", chatting);
		expect(a.sent.find((f) => f.type === "join_queue")?.payload).toEqual({
			gender: "female",
			preference: "any",
			language: "pt",
		});
		expect(a.client.snapshot.partner).toEqual({ gender: "male", sharedInterests: [], language: "pt" });
		expect(a.client.snapshot.endedChat).toBeNull();
		expect(a.client.reportEnded("spam")).toBe(false); // a live chat is reported inside it
		const chatId = a.client.snapshot.transcript?.chatId;
		b.client.leave();
		const ended = await until(a.client, "a ended", (s) => s.phase === "ended");
		expect(ended.endedChat).toMatchObject({ chatId, reported: false });
		// Right after the end, before the lobby's `ready`: it goes right behind it.
		expect(a.client.reportEnded("harassment")).toBe(true);
		await until(a.client, "reported", (s) => s.endedChat?.reported === true);
		expect(a.sent.filter((f) => f.type === "report")).toEqual([
			expect.objectContaining({ type: "report", payload: { chat_id: chatId, reason: "harassment" } }),
		]);
		expect(a.client.reportEnded("spam")).toBe(false);
		expect(a.client.snapshot.error).toBeNull();
	});

	it("cancel leaves the queue", async () => {
		const a = tab();
		a.client.start({ gender: "male", preference: "male", interests: ["Rare Interest"] });
		await until(a.client, "waiting", (s) => s.phase === "waiting" && s.waiting !== null);
		expect(a.client.snapshot.withInterests).toBe(true);
		a.client.cancel();
		expect(a.client.snapshot.phase).toBe("idle");
		const res = await fetch(`${server.baseUrl}/api/stats`);
		expect(res.status).toBe(200);
	});

	it("paces a burst under the server's limit: 16 messages, all delivered once and in order, none refused", async () => {
		const { a, b } = await pair();
		const sent = Array.from({ length: 16 }, (_, i) => `burst ${i + 1}`);
		for (const m of sent) a.client.send(m);
		const got = await until(b.client, "all 16", (s) => texts(s, false).length === 16, 15_000);
		expect(texts(got, false)).toEqual(sent);
		await until(a.client, "all acked", (s) => (s.transcript?.messages ?? []).every(isAcked));
		expect(a.client.snapshot.error).toBeNull();
		expect(a.client.snapshot.connected).toBe(true);
	});

	it("typing stops by itself after 3 s without keystrokes", async () => {
		const { a, b } = await pair();
		a.client.setTyping(true);
		await until(b.client, "typing", (s) => s.partnerTyping);
		const started = Date.now();
		await until(b.client, "typing stopped", (s) => !s.partnerTyping, 6_000);
		expect(Date.now() - started).toBeGreaterThanOrEqual(2_500);
	});

	it("a second tab taking over the chat ends the first one's without a tug of war", async () => {
		const { a, b } = await pair();
		const second = tab(a);
		second.client.connect();
		await until(second.client, "second tab chatting", chatting);
		// The 4409 close frame arrives at once, but under wrangler dev the close
		// event can follow up to ~10 s later (the TCP connection lingers).
		expect((await until(a.client, "first tab replaced", (s) => s.phase === "ended", 15_000)).endReason).toBe(
			"replaced",
		);
		// For a while nothing moves: the first tab does not take the chat back.
		let flaps = 0;
		const stop = b.client.subscribe((s) => {
			if (!s.partnerOnline) flaps++;
		});
		await new Promise((r) => setTimeout(r, 2_000));
		stop();
		expect(flaps).toBe(0);
		second.client.send("from the second tab");
		await until(b.client, "message from the second tab", (s) => texts(s, false).includes("from the second tab"));
	});

	it("a tab that was replaced and comes back into the same chat through the lobby keeps its transcript", async () => {
		const { a, b } = await pair();
		a.client.send("before the takeover");
		b.client.send("from b");
		await until(a.client, "b's message", (s) => texts(s, false).includes("from b"));
		await until(a.client, "own message acked", (s) => isAcked(mine(s)[0]));
		// A newer connection for the same user (here another tab; in the soak,
		// this tab's own attempt that completed late) takes the chat over.
		const second = tab(a);
		second.client.connect();
		await until(second.client, "second tab chatting", chatting);
		expect((await until(a.client, "replaced", (s) => s.phase === "ended", 15_000)).endReason).toBe("replaced");
		second.client.close();
		// Still in the chat on the server: starting again, the lobby's ready.chat brings it back.
		a.client.start({ gender: "female", preference: "any", interests: [] });
		const back = await until(a.client, "back in the chat", chatting, 15_000);
		expect(texts(back, true)).toEqual(["before the takeover"]);
		expect(texts(back, false)).toEqual(["from b"]);
		b.client.send("after the return");
		const later = await until(a.client, "b's next message", (s) => texts(s, false).includes("after the return"));
		expect(texts(later, false)).toEqual(["from b", "after the return"]);
	});

	it("keeps trying to connect while the server is unreachable", async () => {
		let attempts = 0;
		const Counting = class extends WebSocket {
			constructor(url: string | URL, protocols?: string | string[]) {
				attempts++;
				super(url, protocols);
			}
		};
		const client = new FlamingoClient({
			baseUrl: "http://127.0.0.1:9", // nothing listens on the discard port
			storage: null,
			sessionStorage: null,
			WebSocket: Counting,
			minReconnectDelayMs: 50,
			maxReconnectDelayMs: 200,
			singleSocket,
		});
		open.push(client);
		client.connect();
		const deadline = Date.now() + 5_000;
		while (attempts < 4 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
		expect(attempts).toBeGreaterThanOrEqual(4);
	});

	it("solves the abuse challenge by itself when it starts chats too fast", async () => {
		const x = tab();
		let challenged = false;
		x.client.subscribe((s) => {
			if (s.challenge) challenged = true;
		});
		for (let i = 0; i < 12; i++) {
			x.client.start({ gender: "female", preference: "any", ageBand: "adult" });
			await until(x.client, "waiting", (s) => s.phase === "waiting" && s.waiting !== null, 15_000);
			const partner = tab();
			partner.client.start({ gender: "male", preference: "any" });
			await until(x.client, `chat ${i + 1}`, chatting);
			x.client.leave();
			await until(x.client, "ended", (s) => s.phase === "ended");
			partner.client.close();
		}
		// The 12th start needed a proof of work, solved without the user doing anything.
		expect(challenged).toBe(true);
		expect(x.client.snapshot.challenge).toBeNull();
		const stats = await statsOf(server.baseUrl).until(
			"the challenge counted",
			(s) => s.challenges_24h >= 1,
			STATS_LAG_MS + 2_000,
		);
		expect(stats.challenges_24h).toBeGreaterThanOrEqual(1);
	});

	it("delivery receipts: the receiver confirms within 100 ms, and the sender's message goes sending → sent → delivered", async () => {
		const { a, b } = await pair();
		const key = a.client.send("did you get this?") ?? "";
		const states = watchStates(a.client, key);
		const sentAt = Date.now();
		const got = await until(b.client, "delivery", (s) => texts(s, false).includes("did you get this?"));
		const gotAt = Date.now();
		const receipt = await waitFor("b's receipt", () => b.sent.find((f) => f.type === "received"));
		expect(receipt.payload).toEqual({ up_to: got.transcript?.lastReceived });
		expect(receipt.payload.up_to).toBe(1);
		expect(receipt.at - gotAt).toBeLessThan(RECEIPT_WITHIN_MS);
		await until(a.client, "delivered", (s) => mine(s).at(-1)?.state === "delivered");
		// A receipting partner gets the message acked long before the server would store it unconfirmed.
		expect(Date.now() - sentAt).toBeLessThan(RECEIPT_TIMEOUT_MS);
		expect(states).toEqual(states.includes("sent") ? ["sending", "sent", "delivered"] : ["sending", "delivered"]);
		expect(a.client.snapshot.transcript?.messages.at(-1)?.messageId).toBe(1);
		expect(a.client.snapshot.transcript?.deliveredUpTo).toBe(1);
		expect(a.client.snapshot.error).toBeNull();
		expect(b.client.snapshot.error).toBeNull();
	});

	it("a burst is confirmed by fewer receipts than messages, the last one for the highest id", async () => {
		const { a, b } = await pair();
		const burst = ["one", "two", "three", "four", "five"];
		for (const m of burst) a.client.send(m);
		const got = await until(b.client, "the burst", (s) => texts(s, false).length === burst.length);
		expect(texts(got, false)).toEqual(burst);
		await until(a.client, "all delivered", (s) => mine(s).every((m) => m.state === "delivered"));
		const receipts = receiptsOf(b);
		expect(receipts.at(-1)).toBe(got.transcript?.lastReceived);
		expect(receipts.length).toBeLessThan(burst.length);
		// Cumulative: never backwards.
		expect([...receipts].sort((x, y) => Number(x) - Number(y))).toEqual(receipts);
	});

	it("a partner that sends no receipts only costs latency: acked within about a second, in order, never delivered", async () => {
		const a = tab();
		const b = tab(undefined, { withoutReceipts: true });
		a.client.start({ gender: "female", preference: "any" });
		await until(a.client, "a waiting", (s) => s.phase === "waiting" && s.waiting !== null);
		b.client.start({ gender: "male", preference: "any" });
		await until(a.client, "a chatting", chatting);
		await until(b.client, "b chatting", chatting);
		const started = Date.now();
		const words = ["slow", "acks", "still", "in order"];
		for (const w of words) a.client.send(w);
		// Acked by the server once it has stored them, not on the partner's word.
		await until(a.client, "all acked", (s) => mine(s).every(isAcked), RECEIPT_TIMEOUT_MS + 4_000);
		const acked = Date.now() - started;
		expect(mine(a.client.snapshot).map((m) => m.state)).toEqual(["sent", "sent", "sent", "sent"]);
		const got = await until(b.client, "all four", (s) => texts(s, false).length === words.length);
		expect(texts(got, false)).toEqual(words);
		// Each written once: a slow ack is no reason to write a message again.
		expect(a.sent.filter((f) => f.type === "send_message")).toHaveLength(words.length);
		expect(receiptsOf(b)).toEqual([]);
		console.log(`four messages to a partner without receipts acked after ${acked} ms`);
	});

	it("a message written but not acked when the tab goes away is resent after the reload and arrives once", async () => {
		const a = tab();
		// A partner without receipts: acks come only once the server has stored the message.
		const b = tab(undefined, { withoutReceipts: true });
		a.client.start({ gender: "female", preference: "any" });
		await until(a.client, "a waiting", (s) => s.phase === "waiting" && s.waiting !== null);
		b.client.start({ gender: "male", preference: "any" });
		await until(a.client, "a chatting", chatting);
		await until(b.client, "b chatting", chatting);
		const key = a.client.send("written, then the tab closed") ?? "";
		// Written at once (send() pumps synchronously); its ack cannot have come yet.
		expect(a.sent.at(-1)).toMatchObject({ type: "send_message", payload: { client_msg_id: key } });
		a.client.close();
		const saved = JSON.parse(a.session.getItem("flamingo.chat") ?? "null") as { messages: ChatMessage[] };
		expect(saved.messages.find((m) => m.key === key)?.state).toBe("sending");

		const reloaded = tab(a);
		reloaded.client.connect();
		await until(reloaded.client, "acked after the reload", (s) => isAcked(mine(s).find((m) => m.key === key)), 10_000);
		expect(reloaded.sent.filter((f) => f.type === "send_message").map((f) => f.payload.client_msg_id)).toEqual([key]);
		await until(b.client, "arrived", (s) => texts(s, false).length === 1);
		// Another message behind it proves nothing more was coming: the resend was not delivered a second time.
		reloaded.client.send("and this one after it");
		const got = await until(b.client, "the next one", (s) => texts(s, false).length >= 2);
		expect(texts(got, false)).toEqual(["written, then the tab closed", "and this one after it"]);
	});

	it("refuses to send empty or too long messages locally", async () => {
		const { a } = await pair();
		expect(a.client.send("   ")).toBeNull();
		expect(a.client.send("x".repeat(2001))).toBeNull();
		expect(a.client.snapshot.error?.code).toBe("message_too_long");
	});
});

describe("FlamingoClient with singleSocket", () => {
	const paths = (t: Browser) => t.sockets.map((ws) => new URL(ws.url).pathname);

	it("one socket from init to the second stranger, with a stranger on two sockets; a reconnect mid-chat resumes with init.after", async () => {
		const { a, b } = await pairOf(tab(undefined, { singleSocket: true }), tab(undefined, { singleSocket: false }));
		b.client.send("one");
		await until(a.client, "one", (s) => texts(s, false).includes("one"));

		// The network drops a's socket: it comes back by itself, into the same chat, after what it has.
		const first = a.sockets[0];
		first?.close(1000);
		await until(b.client, "a offline", (s) => !s.partnerOnline);
		b.client.send("two");
		const back = await until(a.client, "back with two", (s) => chatting(s) && texts(s, false).includes("two"));
		expect(texts(back, false)).toEqual(["one", "two"]);
		const inits = a.sent.filter((f) => f.type === "init");
		expect(inits).toHaveLength(2);
		expect(inits[0]?.payload.after).toBe(0);
		expect(inits[1]?.payload).toMatchObject({ user_id: a.client.snapshot.userId, after: 1 });

		// The stranger leaves; Next finds another one on the same socket.
		b.client.leave();
		await until(a.client, "a ended", (s) => s.phase === "ended" && s.endReason === "partner_left");
		expect(a.client.snapshot.connected).toBe(true);
		a.client.next();
		await until(a.client, "a waiting again", (s) => s.phase === "waiting" && s.waiting !== null);
		const c = tab(undefined, { singleSocket: false });
		c.client.start({ gender: "other", preference: "any" });
		await until(a.client, "a chatting with c", chatting);
		a.client.send("hello c");
		await until(c.client, "c got it", (s) => texts(s, false).includes("hello c"));

		expect(paths(a)).toEqual(["/ws/single", "/ws/single"]);
		expect(a.sent.filter((f) => f.type === "init")).toHaveLength(2);
		// The two-socket stranger used the lobby and the chat socket, as ever.
		expect(paths(b)).toContain("/ws");
		expect(paths(b).some((p) => p.startsWith("/ws/chat/"))).toBe(true);
	});

	it("a message written while the socket comes back waits for chat_joined: no frame reaches the lobby, no error, delivered once", async () => {
		let armed = false;
		const a = tab(undefined, {
			singleSocket: true,
			// Runs before the client's own open handler (its init): the earliest a page could write.
			onSocket: (ws) =>
				ws.addEventListener("open", () => {
					if (armed) a.client.send("while coming back");
				}),
		});
		const { b } = await pairOf(a, tab(undefined, { singleSocket: true }));
		armed = true;
		a.sockets[0]?.close(1000);
		await until(b.client, "got it", (s) => texts(s, false).includes("while coming back"));
		await until(a.client, "acked", (s) => isAcked(mine(s)[0]));
		expect(a.client.snapshot.error).toBeNull();
		// On the second socket, init went first and the message only after chat_joined.
		const second = a.sent.slice(a.sent.findLastIndex((f) => f.type === "init"));
		expect(second.map((f) => f.type)).toContain("send_message");
		expect(a.sent.filter((f) => f.type === "send_message")).toHaveLength(1);
		expect(texts(b.client.snapshot, false)).toEqual(["while coming back"]);
	});

	it("a chat frame that crosses chat_ended (the Worker already moved the socket to the lobby) is no error for the page", async () => {
		const a = tab(undefined, {
			singleSocket: true,
			// The page's typing notice leaves just as chat_ended arrives: it reaches the lobby after the Worker moved.
			onSocket: (ws) =>
				ws.addEventListener("message", (e) => {
					if (String(e.data).startsWith('{"type":"chat_ended"'))
						ws.send(JSON.stringify({ type: "typing", payload: { is_typing: true } }));
				}),
		});
		const errors: string[] = [];
		a.client.on("error", (p) => errors.push(`${p.code} ${p.request_type}`));
		const { b } = await pairOf(a, tab(undefined, { singleSocket: true }));
		b.client.leave();
		await until(a.client, "a ended", (s) => s.phase === "ended");
		await waitFor("the lobby's answer", () => (errors.length > 0 ? errors : undefined));
		expect(errors).toEqual(["unknown_type typing"]);
		expect(a.client.snapshot.error).toBeNull();
		// The socket is in the lobby, still initialised: the next search needs nothing else.
		a.client.next();
		await until(a.client, "a waiting again", (s) => s.phase === "waiting" && s.waiting !== null);
	});
});
