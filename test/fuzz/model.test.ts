// Model-based test: random sequences of join, leave, send, reconnect, typing,
// leave/report and eviction, run against real lobby and chat sockets inside
// workerd (fc.commands + fc.asyncModelRun), each checked against a small
// model of three users on one test-private Matchmaker.
//
// The model keeps only what the protocol promises: each user's phase (idle,
// queued, chatting), the queue in arrival order, each user's partners and
// reported pairs (rule 4), the live chat's messages, and the highest message
// id each user's client has received. Every frame a command expects is read in
// order, so an unexpected frame fails the next expectation; at the end of a run
// every open socket must be quiet.
import { evictDurableObject, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
	type AgeBand,
	type Gender,
	type Preference,
	RECEIPT_TIMEOUT_MS,
	type ServerPayload,
} from "../../src/protocol/schemas";
import { chatStub, lobbyName, lobbyStub, openLobby, TestSocket } from "../worker/helpers";
import { LONG_RUN } from "./runs";

const USERS = 3;
/**
 * Commands per run (those whose precondition fails are skipped). With three
 * users rule 4 allows at most three chats per run (each pair once within 5
 * minutes), far from the abuse rule's 10 chats a minute per user.
 */
const MAX_COMMANDS = 30;
/**
 * The server's per-socket bursts: 5 join_queue, 10 send_message, 40 frames of
 * any kind. The preconditions keep every socket within them (frames with a
 * margin), so nothing is ever rate limited.
 */
const JOIN_BURST = 5;
const SEND_BURST = 10;
const FRAME_BUDGET = 36;
/** Waits for a frame that must come; the server answers in milliseconds. */
const FRAME_MS = 2_000;
/** An ack without a receipt waits for RECEIPT_TIMEOUT_MS (1 s) first. */
const ACK_MS = FRAME_MS + RECEIPT_TIMEOUT_MS;
/** The grace period of the workers project (vitest.config.ts: 500 ms). */
const GRACE_MS = Number(env.GRACE_MS ?? 30_000);
/** How long a socket must stay quiet at the end of a run. */
const QUIET_MS = 25;

/** Runs of the model: about 150 ms each. */
const MODEL_RUNS = LONG_RUN ? 1_000 : 50;

type Phase = "idle" | "queued" | "chatting";

interface ModelMessage {
	id: number;
	sender: number;
	content: string;
	clientMsgId?: string;
	sentAt: number;
}

interface ModelUser {
	phase: Phase;
	gender: Gender;
	preference: Preference;
	/** Rule 0: adults and teens wait in separate pools (nobody here is reported by 3 people, so none is flagged). */
	ageBand: AgeBand;
	/** Whether this user holds an initialised lobby socket. */
	lobbyOpen: boolean;
	/** join_queue frames sent on the current lobby socket (the server allows a burst of 5). */
	joins: number;
	/** Frames of any kind sent on the current lobby socket, init included. */
	lobbyFrames: number;
	/** send_message frames sent on the current chat socket (a burst of 10). */
	sends: number;
	/** Frames of any kind sent on the current chat socket. */
	chatFrames: number;
	/** Highest message id this user's client received in the live chat. */
	seen: number;
	/** Highest `received.up_to` this user's client sent in the live chat. */
	confirmed: number;
	/** Whether the server knows this client sends receipts: null until one is sent or one is overdue. */
	receipts: boolean | null;
}

interface Model {
	users: ModelUser[];
	/** Waiting users, oldest first. */
	queue: number[];
	/** Each user's partners, oldest first (rule 4 looks at the last 3). */
	partners: number[][];
	reported: Set<string>;
	chat: { users: [number, number]; messages: ModelMessage[]; nextClientId: number } | null;
}

interface RealUser {
	userId: string;
	token: string;
	lobby: TestSocket | null;
	chat: TestSocket | null;
	chatUrl: string | null;
}

interface Real {
	name: string;
	users: RealUser[];
	chatId: string | null;
}

type Cmd = fc.AsyncCommand<Model, Real, false>;
/** Chat commands name a side of the live chat (0: the user whose join made the match), not a user. */
type Side = 0 | 1;

const pairKey = (a: number, b: number) => (a < b ? `${a}:${b}` : `${b}:${a}`);
/** The user on `side` (0 or 1) of the live chat. */
const sideOf = (m: Readonly<Model>, side: Side): number => {
	if (!m.chat) throw new Error("no live chat in the model");
	return m.chat.users[side];
};
const partnerOf = (m: Model, u: number): number => {
	const chat = m.chat;
	if (!chat) throw new Error("no live chat in the model");
	return chat.users[0] === u ? chat.users[1] : chat.users[0];
};

/** Room for one more join_queue on this user's lobby socket (a new socket has room). */
const canJoin = (mu: ModelUser) => !mu.lobbyOpen || (mu.joins < JOIN_BURST && mu.lobbyFrames < FRAME_BUDGET);
/** Room for `n` more frames on this user's lobby or chat socket. */
const lobbyRoom = (mu: ModelUser, n = 1) => !mu.lobbyOpen || mu.lobbyFrames + n <= FRAME_BUDGET;
const chatRoom = (mu: ModelUser, n = 1) => mu.chatFrames + n <= FRAME_BUDGET;

/** Rule 0: the same pool; rule 1: mutual preference. */
function compatible(a: ModelUser, b: ModelUser): boolean {
	return (
		a.ageBand === b.ageBand &&
		(a.preference === "any" || a.preference === b.gender) &&
		(b.preference === "any" || b.preference === a.gender)
	);
}

/**
 * Rule 4 (docs/PROTOCOL.md): not while either is among the other's last 3
 * partners (for 5 minutes, longer than any run; the most recent one is among
 * them), nor a reported pair.
 */
const RECENT_PARTNERS = 3;
function blocked(m: Model, a: number, b: number): boolean {
	const recent = (x: number) => (m.partners[x] ?? []).slice(-RECENT_PARTNERS);
	return recent(a).includes(b) || recent(b).includes(a) || m.reported.has(pairKey(a, b));
}

function presence(m: Model) {
	const chatting = m.chat ? 2 : 0;
	const inLobby = m.users.filter((u) => u.lobbyOpen && u.phase !== "chatting").length;
	return { online: inLobby + chatting, waiting: m.queue.length, chatting };
}

function httpUrl(chatUrl: string, after?: number): string {
	const url = new URL(chatUrl.replace(/^ws/, "http"));
	if (after !== undefined) url.searchParams.set("after", String(after));
	return url.toString();
}

/** A chat socket straight to its ChatRoom (not through the Worker, whose per-IP limit other tests use up). */
async function openChatSocket(chatId: string, chatUrl: string, after?: number): Promise<TestSocket> {
	const response = await chatStub(chatId).fetch(httpUrl(chatUrl, after), { headers: { Upgrade: "websocket" } });
	if (response.status !== 101 || !response.webSocket) throw new Error(`chat upgrade refused: ${response.status}`);
	return new TestSocket(response.webSocket);
}

function lobbyOf(r: Real, u: number): TestSocket {
	const socket = r.users[u]?.lobby;
	if (!socket) throw new Error(`user ${u} has no lobby socket`);
	return socket;
}

function chatOf(r: Real, u: number): TestSocket {
	const socket = r.users[u]?.chat;
	if (!socket) throw new Error(`user ${u} has no chat socket`);
	return socket;
}

function user(r: Real, u: number): RealUser {
	const x = r.users[u];
	if (!x) throw new Error(`no user ${u}`);
	return x;
}

/** The two users of the chat, from the side that acts: `u` acts, `p` is the partner. */
function sides(m: Model, side: Side): { u: number; p: number } {
	const u = sideOf(m, side);
	return { u, p: partnerOf(m, u) };
}

/** `leave_chat`, or `report` (with `reportPayload`), sent on `socket`: its sender hears how the chat ended. */
async function endFrom(socket: TestSocket, chatId: string | null, report: boolean, reportPayload?: { reason: string }) {
	socket.send(
		report ? { type: "report", ...(reportPayload ? { payload: reportPayload } : {}) } : { type: "leave_chat" },
	);
	expect(await socket.expect("chat_ended", FRAME_MS)).toEqual({
		chat_id: chatId,
		reason: report ? "you_reported" : "you_left",
	});
}

/** After a chat ended by `u` (reported or left): the model's no-rematch memory and both users' state. */
function endedBy(m: Model, r: Real, u: number, p: number, report: boolean): void {
	if (report) m.reported.add(pairKey(u, p));
	chatOver(m, r, [u, p]);
}

/** The chat is over for both: each is idle with no lobby socket, in the model and for real. */
function chatOver(m: Model, r: Real, users: readonly number[]): void {
	for (const who of users) {
		Object.assign(m.users[who] as ModelUser, {
			phase: "idle",
			lobbyOpen: false,
			sends: 0,
			seen: 0,
			confirmed: 0,
			receipts: null,
		});
		Object.assign(user(r, who), { chat: null, chatUrl: null });
	}
	m.chat = null;
	r.chatId = null;
}

/**
 * A lobby socket for a known user: `init` with its identity. Checks `ready`:
 * the same identity, `ready.chat` exactly while chatting, and presence as the
 * model has it once `update` has applied what this socket changes.
 */
async function resumeLobby(
	m: Model,
	r: Real,
	u: number,
	update: () => void,
): Promise<{ lobby: TestSocket; ready: ServerPayload<"ready"> }> {
	const me = user(r, u);
	const chatting = (m.users[u] as ModelUser).phase === "chatting";
	const lobby = await openLobby(r.name);
	lobby.send({ type: "init", payload: { user_id: me.userId, token: me.token } });
	const ready = await lobby.expect("ready", FRAME_MS);
	expect(ready).toMatchObject({ user_id: me.userId, token: me.token, resumed: true });
	if (chatting) {
		expect(ready.chat?.chat_id).toBe(r.chatId);
	} else {
		expect(ready.chat).toBeUndefined();
	}
	update();
	expect(ready.presence).toEqual(presence(m));
	return { lobby, ready };
}

/** Gives an idle or queued user a lobby socket if it has none (after a chat ended). */
async function ensureLobby(m: Model, r: Real, u: number): Promise<TestSocket> {
	const mu = m.users[u] as ModelUser;
	if (mu.lobbyOpen) return lobbyOf(r, u);
	const { lobby } = await resumeLobby(m, r, u, () => {
		mu.lobbyOpen = true;
		mu.joins = 0;
		mu.lobbyFrames = 1;
	});
	user(r, u).lobby = lobby;
	return lobby;
}

/** The ChatRoom loses everything in memory; its sockets stay open. */
async function evictChatRoom(chatId: string): Promise<void> {
	const stub = chatStub(chatId);
	// Only a running object can be evicted: wake it first.
	await runInDurableObject(stub, () => undefined);
	await evictDurableObject(stub, { webSockets: "hibernate" });
}

// ---- commands -------------------------------------------------------------------

class Join implements Cmd {
	constructor(
		readonly u: number,
		readonly gender: Gender,
		readonly preference: Preference,
		/** Absent means adult. */
		readonly ageBand?: AgeBand,
	) {}
	check(m: Readonly<Model>): boolean {
		const mu = m.users[this.u] as ModelUser;
		return mu.phase === "chatting" || canJoin(mu);
	}
	async run(m: Model, r: Real): Promise<void> {
		const u = this.u;
		const mu = m.users[u] as ModelUser;
		const payload = {
			gender: this.gender,
			preference: this.preference,
			...(this.ageBand ? { age_band: this.ageBand } : {}),
		};
		if (mu.phase === "chatting") {
			// A reloaded page: a second lobby socket, told where the chat is; joining is in_chat.
			const { lobby: temp } = await resumeLobby(m, r, u, () => {});
			temp.send({ type: "join_queue", payload });
			expect(await temp.expectError("in_chat", FRAME_MS)).toMatchObject({ request_type: "join_queue" });
			temp.close();
			// The server answers the close once it has let go of the socket.
			await temp.closed(FRAME_MS);
			return;
		}
		const lobby = await ensureLobby(m, r, u);
		lobby.send({ type: "join_queue", payload });
		mu.joins++;
		mu.lobbyFrames++;
		if (mu.phase === "queued") {
			await lobby.expectError("already_queued", FRAME_MS);
			return;
		}
		expect(await lobby.expect("queue_joined", FRAME_MS)).toEqual({ waiting: m.queue.length + 1 });
		mu.gender = this.gender;
		mu.preference = this.preference;
		mu.ageBand = this.ageBand ?? "adult";
		const p = m.queue.find((q) => compatible(mu, m.users[q] as ModelUser) && !blocked(m, u, q));
		if (p === undefined) {
			m.queue.push(u);
			mu.phase = "queued";
			return;
		}
		// A match: both hear match_found, both lobby sockets close, both join the chat.
		const mp = m.users[p] as ModelUser;
		const mine = await lobby.expect("match_found", FRAME_MS);
		const theirs = await lobbyOf(r, p).expect("match_found", FRAME_MS);
		expect(theirs.chat_id).toBe(mine.chat_id);
		expect(mine).toMatchObject({ partner: { gender: mp.gender }, shared_interests: [] });
		expect(theirs).toMatchObject({ partner: { gender: mu.gender }, shared_interests: [] });
		expect(await lobby.closed(FRAME_MS)).toEqual({ code: 1000, reason: "matched" });
		expect(await lobbyOf(r, p).closed(FRAME_MS)).toEqual({ code: 1000, reason: "matched" });
		m.queue = m.queue.filter((q) => q !== p);
		for (const [who, ref] of [
			[u, mine],
			[p, theirs],
		] as const) {
			const mw = m.users[who] as ModelUser;
			Object.assign(mw, {
				phase: "chatting",
				lobbyOpen: false,
				joins: 0,
				sends: 0,
				chatFrames: 0,
				seen: 0,
				confirmed: 0,
				receipts: null,
			});
			Object.assign(user(r, who), { lobby: null, chatUrl: ref.chat_url });
		}
		m.partners[u]?.push(p);
		m.partners[p]?.push(u);
		m.chat = { users: [u, p], messages: [], nextClientId: 1 };
		r.chatId = mine.chat_id;

		const first = await openChatSocket(mine.chat_id, mine.chat_url);
		user(r, u).chat = first;
		expect(await first.expect("chat_joined", FRAME_MS)).toEqual({ chat_id: mine.chat_id, partner_online: false });
		const second = await openChatSocket(theirs.chat_id, theirs.chat_url);
		user(r, p).chat = second;
		expect(await second.expect("chat_joined", FRAME_MS)).toEqual({ chat_id: mine.chat_id, partner_online: true });
		expect(await first.expect("partner_status", FRAME_MS)).toEqual({ online: true });
	}
	toString(): string {
		return `Join(${this.u}, ${this.gender}, ${this.preference}${this.ageBand ? `, ${this.ageBand}` : ""})`;
	}
}

/**
 * Join by whoever is idle (the k-th of them), so that runs reach second and
 * third chats and rule 4 comes into play; Join by index covers the refusals.
 */
class JoinIdle implements Cmd {
	private resolved: number | null = null;
	constructor(
		readonly k: number,
		readonly gender: Gender,
		readonly preference: Preference,
		readonly ageBand?: AgeBand,
	) {}
	private idle(m: Readonly<Model>): number[] {
		return m.users.flatMap((mu, i) => (mu.phase === "idle" && canJoin(mu) ? [i] : []));
	}
	check(m: Readonly<Model>): boolean {
		return this.idle(m).length > 0;
	}
	async run(m: Model, r: Real): Promise<void> {
		const idle = this.idle(m);
		this.resolved = idle[this.k % idle.length] as number;
		await new Join(this.resolved, this.gender, this.preference, this.ageBand).run(m, r);
	}
	toString(): string {
		const band = this.ageBand ? `, ${this.ageBand}` : "";
		const resolved = this.resolved === null ? "" : ` → user ${this.resolved}`;
		return `JoinIdle(${this.k}${resolved}, ${this.gender}, ${this.preference}${band})`;
	}
}

class Leave implements Cmd {
	constructor(readonly u: number) {}
	check(m: Readonly<Model>): boolean {
		const mu = m.users[this.u] as ModelUser;
		return mu.phase !== "chatting" && lobbyRoom(mu);
	}
	async run(m: Model, r: Real): Promise<void> {
		const mu = m.users[this.u] as ModelUser;
		const lobby = await ensureLobby(m, r, this.u);
		lobby.send({ type: "leave_queue" });
		mu.lobbyFrames++;
		if (mu.phase === "queued") {
			expect(await lobby.expect("queue_left", FRAME_MS)).toEqual({});
			m.queue = m.queue.filter((q) => q !== this.u);
			mu.phase = "idle";
		} else {
			await lobby.expectError("not_queued", FRAME_MS);
		}
	}
	toString(): string {
		return `Leave(${this.u})`;
	}
}

/** A reload while not chatting: a new lobby socket replaces the old one (4409), whose queue entry goes with it. */
class ReloadLobby implements Cmd {
	constructor(readonly u: number) {}
	check(m: Readonly<Model>): boolean {
		return (m.users[this.u] as ModelUser).phase !== "chatting";
	}
	async run(m: Model, r: Real): Promise<void> {
		const mu = m.users[this.u] as ModelUser;
		const old = user(r, this.u).lobby;
		const { lobby } = await resumeLobby(m, r, this.u, () => {
			m.queue = m.queue.filter((q) => q !== this.u);
			Object.assign(mu, { phase: "idle", lobbyOpen: true, joins: 0, lobbyFrames: 1 });
		});
		if (old) expect(await old.closed(FRAME_MS)).toEqual({ code: 4409, reason: "replaced by a newer connection" });
		user(r, this.u).lobby = lobby;
	}
	toString(): string {
		return `ReloadLobby(${this.u})`;
	}
}

/**
 * A message; with `receipt` the partner's client confirms it (PROTOCOL.md 1.1),
 * so the sender is acked and then told it was delivered; without, the ack
 * comes once the server stored it (within RECEIPT_TIMEOUT_MS).
 */
class Send implements Cmd {
	constructor(
		readonly side: Side,
		readonly text: string,
		readonly withId: boolean,
		readonly receipt: boolean,
	) {}
	check(m: Readonly<Model>): boolean {
		if (!m.chat) return false;
		const mu = m.users[sideOf(m, this.side)] as ModelUser;
		const mp = m.users[sideOf(m, this.side === 0 ? 1 : 0)] as ModelUser;
		return mu.sends < SEND_BURST && chatRoom(mu) && (!this.receipt || chatRoom(mp));
	}
	async run(m: Model, r: Real): Promise<void> {
		const chat = m.chat;
		if (!chat || !r.chatId) throw new Error("no chat");
		const u = sideOf(m, this.side);
		const mu = m.users[u] as ModelUser;
		const p = partnerOf(m, u);
		const mp = m.users[p] as ModelUser;
		const id = chat.messages.length + 1;
		const clientMsgId = this.withId ? `c${chat.nextClientId++}` : undefined;
		chatOf(r, u).send({
			type: "send_message",
			payload: { content: this.text, ...(clientMsgId ? { client_msg_id: clientMsgId } : {}) },
		});
		mu.sends++;
		mu.chatFrames++;
		const got = await chatOf(r, p).expect("message_received", FRAME_MS);
		expect(got).toEqual({
			chat_id: r.chatId,
			message_id: id,
			content: this.text.trim(),
			...(clientMsgId ? { client_msg_id: clientMsgId } : {}),
			sent_at: got.sent_at,
		});
		mp.seen = id;
		if (this.receipt) {
			chatOf(r, p).send({ type: "received", payload: { up_to: id } });
			mp.chatFrames++;
			mp.confirmed = id;
			mp.receipts = true;
		}
		const ack = await chatOf(r, u).expect("message_sent", ACK_MS);
		expect(ack).toEqual({
			chat_id: r.chatId,
			message_id: id,
			...(clientMsgId ? { client_msg_id: clientMsgId } : {}),
			sent_at: got.sent_at,
		});
		if (this.receipt) {
			expect(await chatOf(r, u).expect("message_delivered", FRAME_MS)).toEqual({ chat_id: r.chatId, up_to: id });
		} else if (mp.receipts === null) {
			// Its receipt was overdue: the server takes it for a client that never confirms.
			mp.receipts = false;
		}
		chat.messages.push({
			id,
			sender: u,
			content: this.text.trim(),
			sentAt: ack.sent_at,
			...(clientMsgId ? { clientMsgId } : {}),
		});
	}
	toString(): string {
		return `Send(side ${this.side}, ${JSON.stringify(this.text)}${this.withId ? ", with client_msg_id" : ""}${this.receipt ? ", confirmed" : ""})`;
	}
}

/** The same client_msg_id again: acked with the original id and time, not delivered again. */
class Resend implements Cmd {
	constructor(readonly side: Side) {}
	private last(m: Readonly<Model>): ModelMessage | undefined {
		const u = sideOf(m, this.side);
		return m.chat?.messages.filter((x) => x.sender === u && x.clientMsgId).at(-1);
	}
	check(m: Readonly<Model>): boolean {
		return (
			m.chat !== null &&
			(m.users[sideOf(m, this.side)] as ModelUser).sends < SEND_BURST &&
			chatRoom(m.users[sideOf(m, this.side)] as ModelUser) &&
			this.last(m) !== undefined
		);
	}
	async run(m: Model, r: Real): Promise<void> {
		const u = sideOf(m, this.side);
		const last = this.last(m);
		if (!last || !r.chatId) throw new Error("nothing to resend");
		// The content is not compared: only the client_msg_id makes it a resend.
		chatOf(r, u).send({
			type: "send_message",
			payload: { content: `${last.content} (again)`, client_msg_id: last.clientMsgId },
		});
		(m.users[u] as ModelUser).sends++;
		(m.users[u] as ModelUser).chatFrames++;
		expect(await chatOf(r, u).expect("message_sent", FRAME_MS)).toEqual({
			chat_id: r.chatId,
			message_id: last.id,
			client_msg_id: last.clientMsgId,
			sent_at: last.sentAt,
		});
	}
	toString(): string {
		return `Resend(side ${this.side})`;
	}
}

class Typing implements Cmd {
	constructor(
		readonly side: Side,
		readonly isTyping: boolean,
	) {}
	check(m: Readonly<Model>): boolean {
		return m.chat !== null && chatRoom(m.users[sideOf(m, this.side)] as ModelUser);
	}
	async run(m: Model, r: Real): Promise<void> {
		const u = sideOf(m, this.side);
		chatOf(r, u).send({ type: "typing", payload: { is_typing: this.isTyping } });
		(m.users[u] as ModelUser).chatFrames++;
		expect(await chatOf(r, partnerOf(m, u)).expect("partner_typing", FRAME_MS)).toEqual({
			is_typing: this.isTyping,
		});
	}
	toString(): string {
		return `Typing(side ${this.side}, ${this.isTyping})`;
	}
}

/**
 * A chat socket dropped and opened again: "close" closes it first (the partner
 * sees it go offline and may send while it is away; the ChatRoom may be
 * evicted meanwhile), "replace" opens the new one over the old (4409, the
 * partner sees only it coming back). `after` is a fraction of the highest id
 * this client received, or none. `viaReady`: the page reloads, so the chat URL
 * comes fresh from `ready.chat` of a lobby socket instead of `match_found`.
 * All within the grace period (500 ms in the workers project).
 */
class Reconnect implements Cmd {
	constructor(
		readonly side: Side,
		readonly mode: "close" | "replace",
		readonly afterFraction: number | null,
		readonly whileAway: string[],
		readonly evictWhileAway: boolean,
		readonly viaReady: boolean,
	) {}
	check(m: Readonly<Model>): boolean {
		if (!m.chat) return false;
		const mp = m.users[sideOf(m, this.side === 0 ? 1 : 0)] as ModelUser;
		const n = this.whileAway.length;
		return this.mode === "replace" || (mp.sends + n <= SEND_BURST && chatRoom(mp, n + 1));
	}
	async run(m: Model, r: Real): Promise<void> {
		const { u, p } = sides(m, this.side);
		const partner = chatOf(r, p);
		const away = Date.now();
		try {
			await this.reconnect(m, r, u, p);
		} catch (err) {
			// On a machine so loaded that this client stayed away for nearly the
			// whole grace period, the chat may rightly have ended meanwhile
			// (partner_disconnected): accept that outcome only then, and only if
			// the lobby agrees that the chat is over.
			if (this.mode !== "close" || Date.now() - away < GRACE_MS * 0.8) throw err;
			expect((await partner.closed(FRAME_MS)).code).toBe(1000);
			expect((await lobbyStub(r.name).stats()).active_chats).toBe(0);
			console.warn(`Reconnect: away ${Date.now() - away} ms, the grace period ran out; chat ended (${String(err)})`);
			user(r, u).chat?.close();
			chatOver(m, r, [u, p]);
		}
	}

	private async reconnect(m: Model, r: Real, u: number, p: number): Promise<void> {
		const chat = m.chat;
		const chatId = r.chatId;
		const me = user(r, u);
		if (!chat || !chatId || !me.chatUrl) throw new Error("no chat");
		const mu = m.users[u] as ModelUser;
		const mp = m.users[p] as ModelUser;
		const partner = chatOf(r, p);
		const old = chatOf(r, u);

		if (this.mode === "close") {
			old.close();
			expect(await partner.expect("partner_status", FRAME_MS)).toEqual({ online: false });
			// Messages to an offline partner are acked and held.
			for (const text of this.whileAway) {
				partner.send({ type: "send_message", payload: { content: text } });
				mp.sends++;
				mp.chatFrames++;
				const id = chat.messages.length + 1;
				const ack = await partner.expect("message_sent", FRAME_MS);
				expect(ack).toMatchObject({ chat_id: chatId, message_id: id });
				chat.messages.push({ id, sender: p, content: text.trim(), sentAt: ack.sent_at });
			}
			// Typing is relayed only while the partner is connected, never held.
			partner.send({ type: "typing", payload: { is_typing: true } });
			mp.chatFrames++;
			if (this.evictWhileAway) await evictChatRoom(chatId);
		}
		let chatUrl = me.chatUrl;
		if (this.viaReady) {
			const { lobby, ready } = await resumeLobby(m, r, u, () => {});
			lobby.close();
			await lobby.closed(FRAME_MS);
			if (!ready.chat) throw new Error("ready.chat missing");
			chatUrl = ready.chat.chat_url;
		}
		const after = this.afterFraction === null ? undefined : Math.floor(this.afterFraction * mu.seen);
		const socket = await openChatSocket(chatId, chatUrl, after);
		me.chat = socket;
		mu.sends = 0;
		mu.chatFrames = 0;
		expect(await socket.expect("chat_joined", FRAME_MS)).toEqual({ chat_id: chatId, partner_online: true });
		// The backlog: the partner's messages past `after` (or past what this client has, or
		// confirmed if it confirms), in order; what it confirmed is gone from the server.
		const from = Math.max(after ?? (mu.receipts === true ? mu.confirmed : mu.seen), mu.confirmed);
		for (const msg of chat.messages.filter((x) => x.sender === p && x.id > from)) {
			expect(await socket.expect("message_received", FRAME_MS)).toEqual({
				chat_id: chatId,
				message_id: msg.id,
				content: msg.content,
				...(msg.clientMsgId ? { client_msg_id: msg.clientMsgId } : {}),
				sent_at: msg.sentAt,
			});
			mu.seen = Math.max(mu.seen, msg.id);
		}
		// And how far the partner confirmed this client's messages.
		if (mp.confirmed > 0) {
			expect(await socket.expect("message_delivered", FRAME_MS)).toEqual({ chat_id: chatId, up_to: mp.confirmed });
		}
		expect(await partner.expect("partner_status", FRAME_MS)).toEqual({ online: true });
		if (this.mode === "replace") {
			expect(await old.closed(FRAME_MS)).toEqual({ code: 4409, reason: "replaced by a newer connection" });
		}
	}
	toString(): string {
		const away =
			this.mode === "close"
				? `, partner sends ${JSON.stringify(this.whileAway)} meanwhile${this.evictWhileAway ? ", room evicted" : ""}`
				: "";
		return `Reconnect(side ${this.side}, ${this.mode}${this.viaReady ? " via ready.chat" : ""}, after=${this.afterFraction === null ? "none" : `${this.afterFraction}×seen`}${away})`;
	}
}

/** A lobby socket closed by its client: the queue entry goes with it. */
class CloseLobby implements Cmd {
	constructor(readonly u: number) {}
	check(m: Readonly<Model>): boolean {
		const mu = m.users[this.u] as ModelUser;
		return mu.phase !== "chatting" && mu.lobbyOpen;
	}
	async run(m: Model, r: Real): Promise<void> {
		const lobby = lobbyOf(r, this.u);
		lobby.close();
		// The server answers the close once it has let go of the socket.
		expect((await lobby.closed(FRAME_MS)).code).toBe(1000);
		m.queue = m.queue.filter((q) => q !== this.u);
		Object.assign(m.users[this.u] as ModelUser, { phase: "idle", lobbyOpen: false, joins: 0, lobbyFrames: 0 });
		user(r, this.u).lobby = null;
	}
	toString(): string {
		return `CloseLobby(${this.u})`;
	}
}

/** A command on the live chat, by the user on `side`. */
abstract class ChatCmd implements Cmd {
	constructor(readonly side: Side) {}
	check(m: Readonly<Model>): boolean {
		return m.chat !== null;
	}
	abstract run(m: Model, r: Real): Promise<void>;
	abstract toString(): string;
}

/** A chat ended by `leave_chat`, or by `report` when `report` is set. */
abstract class EndCmd extends ChatCmd {
	constructor(
		side: Side,
		readonly report: boolean,
	) {
		super(side);
	}
}

/**
 * A chat socket that stays closed past the grace period: the partner hears
 * partner_disconnected; the one who dropped is told nothing, and its next
 * `ready` has no chat. Waits out the grace period (500 ms), so it is rare.
 */
class Drop extends ChatCmd {
	async run(m: Model, r: Real): Promise<void> {
		const { u, p } = sides(m, this.side);
		const chatId = r.chatId;
		const partner = chatOf(r, p);
		chatOf(r, u).close();
		expect(await partner.expect("partner_status", FRAME_MS)).toEqual({ online: false });
		expect(await partner.expect("chat_ended", FRAME_MS)).toEqual({ chat_id: chatId, reason: "partner_disconnected" });
		expect((await partner.closed(FRAME_MS)).code).toBe(1000);
		chatOver(m, r, [u, p]);
	}
	toString(): string {
		return `Drop(side ${this.side})`;
	}
}

/**
 * The partner leaves (or reports) while this user's chat socket is closed:
 * only the partner is told; the chat is over, so this user's ticket is
 * refused (4401) and its next `ready` has no chat.
 */
class EndWhileAway extends EndCmd {
	async run(m: Model, r: Real): Promise<void> {
		const { u, p } = sides(m, this.side);
		const chatId = r.chatId;
		const me = user(r, u);
		const partner = chatOf(r, p);
		if (!chatId || !me.chatUrl) throw new Error("no chat");
		chatOf(r, u).close();
		expect(await partner.expect("partner_status", FRAME_MS)).toEqual({ online: false });
		// The partner ends it (a report without a reason: "other").
		await endFrom(partner, chatId, this.report);
		expect((await partner.closed(FRAME_MS)).code).toBe(1000);
		const again = await openChatSocket(chatId, me.chatUrl);
		expect(await again.closed(FRAME_MS)).toEqual({ code: 4401, reason: "this chat is over" });
		endedBy(m, r, p, u, this.report);
	}
	toString(): string {
		return `${this.report ? "ReportWhileAway" : "LeaveWhileAway"}(side ${this.side} away)`;
	}
}

/** leave_chat or report: both hear chat_ended, both sockets close, both may queue again. */
class EndChat extends EndCmd {
	async run(m: Model, r: Real): Promise<void> {
		const { u, p } = sides(m, this.side);
		const chatId = r.chatId;
		const mine = chatOf(r, u);
		const theirs = chatOf(r, p);
		await endFrom(mine, chatId, this.report, { reason: "spam" });
		expect(await theirs.expect("chat_ended", FRAME_MS)).toEqual({ chat_id: chatId, reason: "partner_left" });
		expect((await mine.closed(FRAME_MS)).code).toBe(1000);
		expect((await theirs.closed(FRAME_MS)).code).toBe(1000);
		endedBy(m, r, u, p, this.report);
	}
	toString(): string {
		return `${this.report ? "Report" : "LeaveChat"}(side ${this.side})`;
	}
}

/** The Matchmaker loses everything in memory; its sockets stay open. Nothing may change. */
class EvictLobby implements Cmd {
	check(): boolean {
		return true;
	}
	async run(_m: Model, r: Real): Promise<void> {
		const stub = lobbyStub(r.name);
		// Only a running object can be evicted: wake it first (twice in a row would find it gone).
		await stub.stats();
		await evictDurableObject(stub, { webSockets: "hibernate" });
	}
	toString(): string {
		return "EvictLobby";
	}
}

class EvictChat implements Cmd {
	check(m: Readonly<Model>): boolean {
		return m.chat !== null;
	}
	async run(_m: Model, r: Real): Promise<void> {
		if (!r.chatId) throw new Error("no chat");
		await evictChatRoom(r.chatId);
	}
	toString(): string {
		return "EvictChat";
	}
}

/** `/api/stats` of this Matchmaker agrees with the model. */
class Stats implements Cmd {
	check(): boolean {
		return true;
	}
	async run(m: Model, r: Real): Promise<void> {
		const stats = await lobbyStub(r.name).stats();
		expect(stats).toMatchObject({ ...presence(m), active_chats: m.chat ? 1 : 0 });
	}
	toString(): string {
		return "Stats";
	}
}

// ---- arbitraries ----------------------------------------------------------------

const who = fc.integer({ min: 0, max: USERS - 1 });
const gender = fc.constantFrom<Gender>("male", "female", "other");
const preference = fc.oneof(
	{ weight: 4, arbitrary: fc.constant<Preference>("any") },
	{ weight: 2, arbitrary: fc.constantFrom<Preference>("male", "female", "other") },
);
/**
 * Message text: words without digits, dots or @, so that the first-contact
 * link gate never applies, with padding the server trims.
 */
const words = fc.constantFrom(
	"hi",
	"hello",
	"flamingo",
	"🦩",
	"ça va",
	"wie geht's",
	"مرحبا",
	"こんにちは",
	"<b>x</b>",
	'"q"',
);
const messageText = fc
	.tuple(
		fc.constantFrom("", " ", "\n", "\u3000"),
		fc.array(words, { minLength: 1, maxLength: 3 }),
		fc.constantFrom("", " ", "\t"),
	)
	.map(([left, ws, right]) => `${left}${ws.join(" ")}${right}`);

const side = fc.constantFrom<Side>(0, 1);
/** Mostly adults (said or not), sometimes teens: rule 0 keeps them apart. */
const ageBand = fc.oneof(
	{ weight: 3, arbitrary: fc.constant(undefined) },
	{ weight: 1, arbitrary: fc.constant<AgeBand>("adult") },
	{ weight: 1, arbitrary: fc.constant<AgeBand>("teen") },
);
const join = fc.tuple(who, gender, preference, ageBand).map(([u, g, p, a]) => new Join(u, g, p, a));
const send = fc
	.tuple(side, messageText, fc.boolean(), fc.boolean())
	.map(([s, t, id, receipt]) => new Send(s, t, id, receipt));

const joinIdle = fc
	.tuple(fc.nat(USERS - 1), gender, preference, ageBand)
	.map(([k, g, p, a]) => new JoinIdle(k, g, p, a));
const endChat = fc.tuple(side, fc.boolean()).map(([s, report]) => new EndChat(s, report));

/**
 * fc.commands picks among the entries evenly: joins and chat ends are listed
 * several times so that runs reach second and third chats (rule 4); the
 * commands that undo a queue entry share one entry, as do the evictions.
 */
const commands: fc.Arbitrary<Cmd>[] = [
	join,
	joinIdle,
	joinIdle,
	joinIdle,
	joinIdle,
	fc.oneof(
		who.map((u) => new Leave(u)),
		who.map((u) => new ReloadLobby(u)),
		who.map((u) => new CloseLobby(u)),
	),
	send,
	send,
	fc.oneof(
		side.map((s) => new Resend(s)),
		fc.tuple(side, fc.boolean()).map(([s, t]) => new Typing(s, t)),
	),
	fc
		.tuple(
			side,
			fc.constantFrom<"close" | "replace">("close", "replace"),
			fc.option(fc.constantFrom(0, 0.5, 1), { nil: null }),
			fc.array(messageText, { maxLength: 2 }),
			fc.boolean(),
			fc.boolean(),
		)
		.map(([s, mode, after, away, evict, viaReady]) => new Reconnect(s, mode, after, away, evict, viaReady)),
	endChat,
	endChat,
	fc.tuple(side, fc.boolean()).map(([s, report]) => new EndWhileAway(s, report)),
	fc.oneof(fc.constant(new EvictLobby()), fc.constant(new EvictChat())),
	// Drop waits out the grace period: rare by default, more often in `npm run fuzz`.
	fc.oneof(
		{ weight: LONG_RUN ? 3 : 1, arbitrary: side.map((s) => new Drop(s)) },
		{ weight: 6, arbitrary: fc.constant(new Stats()) },
	),
];

/** Unbiased, so that the number of commands is drawn evenly up to MAX_COMMANDS instead of mostly few. */
const runOfCommands = fc.noBias(fc.commands(commands, { maxCommands: MAX_COMMANDS, size: "max" }));

async function setup(): Promise<{ model: Model; real: Real }> {
	const name = lobbyName();
	const users: RealUser[] = [];
	for (let i = 0; i < USERS; i++) {
		const lobby = await openLobby(name);
		lobby.send({ type: "init", payload: {} });
		const ready = await lobby.expect("ready", FRAME_MS);
		expect(ready.resumed).toBe(false);
		users.push({ userId: ready.user_id, token: ready.token, lobby, chat: null, chatUrl: null });
	}
	const model: Model = {
		users: users.map(() => ({
			phase: "idle",
			gender: "other",
			preference: "any",
			ageBand: "adult",
			lobbyOpen: true,
			joins: 0,
			lobbyFrames: 1,
			sends: 0,
			chatFrames: 0,
			seen: 0,
			confirmed: 0,
			receipts: null,
		})),
		queue: [],
		partners: users.map(() => []),
		reported: new Set(),
		chat: null,
	};
	return { model, real: { name, users, chatId: null } };
}

function sockets(real: Real): TestSocket[] {
	return real.users.flatMap((u) => [u.lobby, u.chat]).filter((s): s is TestSocket => s !== null);
}

describe("model-based: lobby and chat sockets against a model", () => {
	it(
		"random join, leave, send, reconnect, end and eviction sequences behave as the model says",
		async () => {
			await fc.assert(
				fc.asyncProperty(runOfCommands, async (cmds) => {
					const world = await setup();
					try {
						await fc.asyncModelRun(() => world, cmds);
						// Nothing more may arrive: every frame the server sent was expected.
						await new Promise((resolve) => setTimeout(resolve, QUIET_MS));
						for (const socket of sockets(world.real)) {
							if (!socket.isClosed) expect(socket.unread).toEqual([]);
						}
						expect(await lobbyStub(world.real.name).stats()).toMatchObject({
							...presence(world.model),
							active_chats: world.model.chat ? 1 : 0,
						});
					} finally {
						for (const socket of sockets(world.real)) socket.close();
					}
				}),
				{ numRuns: MODEL_RUNS },
			);
		},
		LONG_RUN ? 1_800_000 : 60_000,
	);
});
