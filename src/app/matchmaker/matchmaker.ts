// The Matchmaker: one Durable Object for the whole world (idFromName("global")),
// holding the lobby sockets of everyone not in a chat. It decides who talks to
// whom and nothing more; chats run in their own ChatRoom objects.
//
// Hibernation: per-socket state lives in the socket's attachment, live chats
// and no-rematch pairs in SQLite; the queue and the user → socket index are
// caches rebuilt from both whenever the object wakes (ARCHITECTURE.md, rules 1–2).
import { DurableObject } from "cloudflare:workers";
import { challengeDifficulty, LIMITS, type Timings, timingsFrom, unjoinedChatGraceMs } from "../../config";
import {
	MISSING_SECRET,
	newChatId,
	newUserId,
	type Signer,
	secretProblem,
	signerFrom,
	TICKET_TTL_MS,
} from "../../domain/auth/signing";
import { addressKey } from "../../domain/limits/address";
import { LimitsBySocket } from "../../domain/limits/socket-limits";
import { type PoolKey, Pools, poolOf } from "../../domain/matchmaker/pools";
import { inWindow, type Match, type Seeker } from "../../domain/matchmaker/queue";
import { AbuseTracker } from "../../domain/safety/abuse";
import { checkSolution } from "../../domain/safety/pow";
import type { Env } from "../../env";
import { errorText, log } from "../../log";
import {
	CLOSE_INIT_REQUIRED,
	CLOSE_INIT_TIMEOUT,
	CLOSE_MATCHED,
	CLOSE_REPLACED,
	CLOSE_TOO_BIG,
} from "../../protocol/close-codes";
import { parseLobby, tooBigToRead } from "../../protocol/codec";
import type { ChatRef, LobbyClientEvent, Presence, Stats } from "../../protocol/schemas";
import {
	FRAMES_BEFORE_INIT,
	MAX_LOBBY_SOCKETS_PER_ADDRESS,
	REPORT_AFTER_END_MS,
	reportReason,
} from "../../protocol/schemas";
import { wsOrigin } from "../../protocol/urls";
import { tooManyUpgrades } from "../../server/responses";
import { AlarmScheduler } from "../../transport/alarms";
import { Frames } from "../../transport/frames";
import { SocketHub } from "../../transport/socket-hub";
import { acceptSocket, closeSocket, echoClose, notAnUpgrade, send, sendError } from "../../transport/sockets";
import { type ChatEnd, MATCHMAKER_NAME, presenceStub } from "../contract";
import { RowMeter } from "../row-meter";
import { LoadStats } from "./load-stats";
import { MatchStats } from "./match-stats";
import { OpenOrder } from "./open-order";
import { type LiveChat, MatchmakerStore } from "./store";

/**
 * What a lobby socket carries through hibernation; a few hundred bytes at
 * most. Written only by this class: created in `fetch`, rewritten by `init`,
 * `join`, `leave`, `challenged`, `solve`, `makeMatch` and
 * `setChattingInLobby`, and its `seen` by the frame prelude (`touchSeen`,
 * at most every few seconds).
 */
interface LobbyAttachment {
	/** ws(s)://host the socket was opened on, to build absolute chat URLs. */
	origin: string;
	/** Last frame handled (ms); pings answered by the runtime count separately. */
	seen: number;
	/** When the socket was opened: it must say `init` within INIT_TIMEOUT_MS. */
	opened?: number;
	/** User id, once `init` succeeded. */
	user?: string;
	/** Set while this user also has a live chat (a reloaded page), for presence. */
	chatting?: boolean;
	/** The queue entry, while waiting. */
	queued?: Omit<Seeker, "userId" | "interests"> & { interests: string[]; pool: PoolKey };
	/** A keyed tag of the client's address (never the address), for the per-address abuse rule. */
	address?: string;
	/** The proof of work this socket must solve before its next join_queue. */
	challenge?: { nonce: string; difficulty: number };
}

type Sync = void | Promise<void>;

/** The Matchmaker publishes its counters to Presence at most this often (and only when they changed). */
const PUBLISH_EVERY_MS = 2_000;

export class Matchmaker extends DurableObject<Env> {
	/** Every row this object writes (the store's statements and each `setAlarm`), for `lobby_load`. */
	private readonly meter = new RowMeter(this.ctx.storage.sql);
	private readonly store: MatchmakerStore;
	private readonly timings: Timings;
	private readonly signer: Signer | null;
	private readonly limits = new LimitsBySocket(LIMITS.join);
	/** The lobby sockets (src/transport): restore after a wake, attachments, the sweep of silent ones. */
	private readonly hub = new SocketHub<LobbyAttachment>(this.ctx, "lobby");
	/** Their frames: error containment, in order per socket, and the prelude of each. */
	private readonly frames = new Frames<LobbyClientEvent, LobbyAttachment>(this.hub, {
		limits: this.limits,
		costly: "join_queue",
		where: "matchmaker",
	});
	/** The one alarm: `setAlarm` only when the earliest deadline moves earlier (a row each). */
	private readonly alarms: AlarmScheduler;
	private readonly queue: Pools;
	private readonly abuse = new AbuseTracker();
	private readonly matchStats = new MatchStats();
	private readonly load = new LoadStats(Date.now());
	/** user id → that user's lobby socket. */
	private readonly sockets = new Map<string, WebSocket>();
	/** Users with a lobby socket who also have a live chat (counted once in `online`). */
	private readonly chattingInLobby = new Set<string>();
	/** Frames a socket sent before `init` (the 3rd closes it); in memory, as the deadline is shorter than a nap. */
	private readonly framesBeforeInit = new WeakMap<WebSocket, number>();
	/** Sockets in the order they opened, until their `init` deadline has been checked. */
	private readonly awaitingInit = new OpenOrder();
	private seq = 0;
	/** This Matchmaker's name, sealed into its tickets so that each chat answers to it. */
	private readonly name: string;
	/** The counters last handed to Presence, and when; a publication waiting for its turn. */
	private published: Stats | null = null;
	private publishedAt = Number.NEGATIVE_INFINITY;
	private publishDue: number | null = null;

	constructor(ctx: DurableObjectState, env: Env) {
		super(ctx, env);
		this.name = ctx.id.name ?? MATCHMAKER_NAME;
		this.store = new MatchmakerStore(ctx.storage, this.meter);
		this.timings = timingsFrom(env);
		this.signer = signerFrom(env.SECRET);
		this.queue = new Pools(this.timings.interestWindowMs);
		this.rebuild();
		this.alarms = new AlarmScheduler(ctx, this.meter);
	}

	/** Rebuilds the in-memory indexes from the open sockets' attachments. */
	private rebuild(): void {
		const waiting: { seeker: Seeker; pool: PoolKey }[] = [];
		const waitingForInit: { ws: WebSocket; opened: number }[] = [];
		for (const { ws, att } of this.hub.kept()) {
			if (ws.readyState !== WebSocket.OPEN) continue;
			if (!att.user) {
				waitingForInit.push({ ws, opened: att.opened ?? att.seen });
				continue;
			}
			this.sockets.set(att.user, ws);
			if (att.chatting) this.chattingInLobby.add(att.user);
			if (att.queued) {
				const { pool, ...rest } = att.queued;
				waiting.push({ seeker: { userId: att.user, ...rest }, pool });
			}
		}
		waiting.sort((a, b) => a.seeker.seq - b.seeker.seq);
		// Re-add everyone as of their own join: a window that ended while the
		// object slept is ended by the alarm that woke it, which then matches
		// its owner (rule 5) like any other window.
		for (const { seeker, pool } of waiting) this.queue.add(seeker, pool, seeker.joinedAt);
		this.seq = waiting.at(-1)?.seeker.seq ?? 0;
		waitingForInit.sort((a, b) => a.opened - b.opened);
		for (const { ws, opened } of waitingForInit) this.awaitingInit.push(ws, opened);
	}

	// ---- HTTP and RPC ----------------------------------------------------

	override async fetch(request: Request): Promise<Response> {
		const refused = notAnUpgrade(request);
		if (refused) return refused;
		this.load.count("upgrades");
		// The address serves the per-address rules only: not computed when per-IP limits are off.
		const key = this.env.PER_IP_LIMITS === "off" ? null : addressKey(request.headers.get("CF-Connecting-IP"));
		const address = key && this.signer ? await this.signer.addressTag(key) : undefined;
		// The socket's tag lets the runtime count an address's sockets, through hibernation too.
		const tags = address ? [addressTagName(address)] : [];
		if (address && this.hub.open(addressTagName(address)).length >= MAX_LOBBY_SOCKETS_PER_ADDRESS) {
			this.load.count("refused_upgrades");
			log({ event: "upgrade_refused", reason: "sockets_per_address", path: "/ws" });
			return tooManyUpgrades(RETRY_SOCKETS_S);
		}
		const now = Date.now();
		const att: LobbyAttachment = {
			origin: wsOrigin(new URL(request.url)),
			seen: now,
			opened: now,
			...(address ? { address } : {}),
		};
		const { ws, response } = acceptSocket(this.ctx, tags, att);
		this.awaitingInit.push(ws, now);
		// The deadline alarm also starts the sweeps (the alarm reschedules them while sockets are open).
		this.alarms.fireBy(this.initDeadline(now));
		return response;
	}

	/** Presence and safety counters for `/api/stats`, as an RPC (tests; the Worker reads Presence). */
	stats(): Stats {
		this.load.count("rpc_stats");
		return this.counters();
	}

	/** What is published to Presence, O(1). */
	private counters(): Stats {
		return { ...this.presence(), active_chats: this.store.liveChatCount(), ...this.store.safetyCounts() };
	}

	/** A ChatRoom saw its first user: the chat is no longer at risk of never starting. */
	chatJoined(chatId: string): void {
		this.load.count("rpc_chat");
		this.store.markJoined(chatId);
	}

	/** A ChatRoom ended: the live chat is over, a report is recorded, the chat stays reportable for a while. */
	chatEnded(chatId: string, end: ChatEnd): void {
		this.load.count("rpc_chat");
		const now = Date.now();
		const live = this.store.liveChat(chatId);
		const users = end.users ?? (live ? ([live.userA, live.userB] as const) : null);
		if (!users) return;
		const chat = this.store.endChat(chatId, users, now, end.reportedBy);
		if (chat) this.chatGone(chat);
		if (end.reportedBy && users.includes(end.reportedBy)) {
			const other = end.reportedBy === users[0] ? users[1] : users[0];
			this.store.recordReport(end.reportedBy, other, end.reportReason ?? "other", now);
		}
		this.presenceChanged(now);
	}

	/** A live chat is gone from the store (ended, or dropped unjoined): its users count as chatting no more. */
	private chatGone(chat: LiveChat): void {
		for (const user of [chat.userA, chat.userB]) this.setChattingInLobby(user, false);
	}

	// ---- sockets -----------------------------------------------------------

	override webSocketMessage(ws: WebSocket, message: string | ArrayBuffer): Sync {
		this.load.count("frames");
		const done = this.frames.serially(ws, () => this.onFrame(ws, message));
		if (done instanceof Promise) return done.then(() => this.presenceChanged(Date.now()));
		this.presenceChanged(Date.now());
	}

	override webSocketClose(ws: WebSocket, code: number, reason: string): void {
		this.load.count("closes");
		this.dropSocket(ws);
		echoClose(ws, code, reason);
		this.presenceChanged(Date.now());
	}

	override webSocketError(ws: WebSocket): void {
		this.dropSocket(ws);
		this.presenceChanged(Date.now());
	}

	override async alarm(): Promise<void> {
		this.alarms.begin();
		this.load.count("alarms");
		const now = Date.now();
		const handovers: Promise<void>[] = [];
		try {
			this.closeUninitialised(now);
			// Rule 5: a window that ends makes its owner matchable at once.
			for (const { seeker, pool } of this.queue.endWindows(now)) {
				const match = this.queue.has(seeker.userId) ? this.queue.findPartner(seeker, pool, now, this.blocked) : null;
				if (match) handovers.push(this.makeMatch(seeker, match, now));
			}
			if (this.hub.sweepDue(now, this.timings.sweepMs)) {
				await this.hub.sweepSilent(now, this.timings.heartbeatTimeoutMs, (ws) => this.dropSocket(ws));
				// At the sweep's pace, not at every interest window's end.
				this.store.forgetExpired(now);
				this.abuse.prune(now);
				const summary = this.matchStats.take();
				if (summary) log({ event: "matches", ...summary, lobby: this.name });
				// The next alarm (set below) is this line's last row; it is counted in the next one.
				const load = this.load.take(now, this.meter);
				if (load) log({ event: "lobby_load", ...load, lobby: this.name });
			}
			// A chat nobody joined has no ChatRoom to end it: drop it here.
			const unjoined = this.store.takeUnjoinedBefore(now - unjoinedChatGraceMs(this.timings));
			for (const chat of unjoined) this.chatGone(chat);
			if (unjoined.length > 0) log({ event: "unjoined_chats_dropped", count: unjoined.length });
			if (this.publishDue !== null && now >= this.publishDue) this.publishDue = null;
			this.presenceChanged(now);
		} finally {
			// One `setAlarm` per run, whatever the run's matches, publications
			// and the events that came in during its sweep asked for.
			this.reschedule(now);
			this.alarms.finish(now + 1);
		}
		await Promise.all(handovers);
	}

	private onFrame(ws: WebSocket, message: string | ArrayBuffer): Sync {
		const now = Date.now();
		// Never parsed: a megabyte of JSON costs the one object everybody needs.
		if (tooBigToRead(message)) return this.shut(ws, CLOSE_TOO_BIG);
		const user = this.hub.attachment(ws).user;
		// A socket replaced by a newer one (4409) or handed over to a chat is on
		// its way out: what it still sends must not act for its user.
		if (user !== undefined && this.sockets.get(user) !== ws) return;
		const parsed = parseLobby(message);
		if (user === undefined && !(parsed.ok && parsed.event.type === "init")) {
			const before = (this.framesBeforeInit.get(ws) ?? 0) + 1;
			if (before > FRAMES_BEFORE_INIT) return this.shut(ws, CLOSE_INIT_REQUIRED);
			this.framesBeforeInit.set(ws, before);
		}
		const admitted = this.frames.admit(ws, parsed, now, (closed) => {
			// Someone who keeps hitting the limits must prove work before joining again.
			const user = this.hub.attachment(ws).user;
			if (user) this.abuse.refused(user, now);
			if (closed) this.dropSocket(ws);
		});
		if (!admitted) return;
		const { event, att } = admitted;
		if (event.type === "init") return this.init(ws, att, event.payload);
		if (!att.user) {
			return sendError(ws, {
				code: "not_initialized",
				message: "send init first",
				requestType: event.type,
			});
		}
		switch (event.type) {
			case "join_queue":
				return this.join(ws, att, att.user, event.payload, now);
			case "solve":
				return this.solve(ws, att, att.user, event.payload);
			case "report":
				return this.reportEnded(ws, att.user, event.payload, now);
			case "leave_queue":
				return this.leave(ws, att, att.user);
		}
	}

	/**
	 * A report after the chat ended (PROTOCOL.md 1.1): a partner who insults
	 * and leaves at once can still be reported, for a few minutes, with the
	 * same effects as a report inside the chat.
	 */
	private reportEnded(
		ws: WebSocket,
		user: string,
		payload: Extract<LobbyClientEvent, { type: "report" }>["payload"],
		now: number,
	): Sync {
		const chat = this.store.lastEndedChat(user, now, REPORT_AFTER_END_MS);
		if (!chat || chat.chatId !== payload.chat_id) {
			return sendError(ws, {
				code: "wrong_chat",
				message: `only your last chat can be reported here, within ${REPORT_AFTER_END_MS / 60_000} minutes of its end`,
				requestType: "report",
			});
		}
		if (!chat.reportedBy.includes(user)) {
			const reason = reportReason(payload.reason);
			this.store.recordReport(user, user === chat.userA ? chat.userB : chat.userA, reason, now);
			this.store.markReported(chat, user);
			log({ event: "report", chat_id: chat.chatId, reason });
		}
		send(ws, "reported", { chat_id: chat.chatId });
	}

	private async init(
		ws: WebSocket,
		att: LobbyAttachment,
		payload: Extract<LobbyClientEvent, { type: "init" }>["payload"],
	): Promise<void> {
		if (att.user) {
			return sendError(ws, { code: "already_initialized", message: "init was already sent", requestType: "init" });
		}
		if (!this.signer) {
			log({ event: "session_refused", reason: "no_secret" });
			return sendError(ws, {
				code: "internal",
				message: secretProblem(this.env.SECRET) ?? MISSING_SECRET,
				requestType: "init",
			});
		}
		const claimed = payload.user_id ?? "";
		const resumed = claimed !== "" && (await this.signer.verifyToken(claimed, payload.token ?? ""));
		const user = resumed ? claimed : newUserId();
		// A verified token is the MAC of its user id: the same one again, no second HMAC.
		const token = resumed ? (payload.token as string) : await this.signer.token(user);
		if (ws.readyState !== WebSocket.OPEN) return;

		// One lobby socket per user: the newest wins, the older one is told why.
		const previous = this.sockets.get(user);
		if (previous && previous !== ws) {
			this.dropSocket(previous);
			closeSocket(previous, CLOSE_REPLACED);
		}
		const now = Date.now();
		if (!resumed) this.store.rememberNewUser(user, now);
		const chat = this.store.chatOf(user);
		att.user = user;
		att.chatting = chat !== null;
		ws.serializeAttachment(att);
		this.sockets.set(user, ws);
		this.setChattingInLobby(user, chat !== null);
		const presence = this.presence();
		const chatRef = chat ? await this.chatRef(chat, user, att.origin) : undefined;
		send(ws, "ready", { user_id: user, token, resumed, presence, ...(chatRef ? { chat: chatRef } : {}) });
	}

	private join(
		ws: WebSocket,
		att: LobbyAttachment,
		user: string,
		payload: Extract<LobbyClientEvent, { type: "join_queue" }>["payload"],
		now: number,
	): Sync {
		if (this.queue.has(user)) {
			return sendError(ws, { code: "already_queued", message: "already waiting", requestType: "join_queue" });
		}
		if (this.store.chatOf(user)) {
			return sendError(ws, {
				code: "in_chat",
				message: "you are in a live chat; leave it first",
				requestType: "join_queue",
			});
		}
		if (this.challenged(ws, att, user, now)) return;
		const seeker: Seeker = {
			userId: user,
			gender: payload.gender,
			preference: payload.preference,
			interests: payload.interests,
			joinedAt: now,
			seq: ++this.seq,
			...(payload.language ? { language: payload.language } : {}),
		};
		// Adults never meet teens; people reported by several others recently meet only each other.
		const pool = poolOf(payload.age_band, this.store.flagged(user, now));
		// Decide synchronously (rule 3 of ARCHITECTURE.md): no await between
		// choosing a partner and taking both out of the queue.
		const match = this.queue.findPartner(seeker, pool, now, this.blocked);
		send(ws, "queue_joined", { waiting: this.queue.size + 1 });
		if (match) return this.makeMatch(seeker, match, now);
		this.queue.add(seeker, pool, now);
		const { userId: _, ...queued } = seeker;
		att.queued = { ...queued, interests: [...seeker.interests], pool };
		ws.serializeAttachment(att);
		if (inWindow(seeker, now, this.timings.interestWindowMs))
			this.alarms.fireBy(seeker.joinedAt + this.timings.interestWindowMs);
	}

	private leave(ws: WebSocket, att: LobbyAttachment, user: string): void {
		if (!this.queue.remove(user)) {
			sendError(ws, { code: "not_queued", message: "not waiting", requestType: "leave_queue" });
			return;
		}
		delete att.queued;
		ws.serializeAttachment(att);
		send(ws, "queue_left", {});
	}

	/**
	 * The abuse challenge: a user who starts chats too fast, keeps hitting
	 * the limits, or whose address does, proves work before joining. Answers
	 * `challenge` (the pending one again, if any) and returns true.
	 */
	private challenged(ws: WebSocket, att: LobbyAttachment, user: string, now: number): boolean {
		if (!att.challenge) {
			const cause = this.abuse.mustSolve(user, att.address ?? null, this.env.PER_IP_LIMITS !== "off", now);
			if (!cause) return false;
			att.challenge = { nonce: newChatId(), difficulty: challengeDifficulty(this.env) };
			ws.serializeAttachment(att);
			this.store.recordChallenge(now);
			log({ event: "challenge", cause, difficulty: att.challenge.difficulty });
		}
		send(ws, "challenge", att.challenge);
		return true;
	}

	private async solve(
		ws: WebSocket,
		att: LobbyAttachment,
		user: string,
		payload: Extract<LobbyClientEvent, { type: "solve" }>["payload"],
	): Promise<void> {
		const pending = att.challenge;
		const invalid = (message: string) => sendError(ws, { code: "invalid_solution", message, requestType: "solve" });
		if (!pending || pending.nonce !== payload.nonce) return invalid("no such challenge is pending (stale nonce)");
		if (!(await checkSolution(pending.nonce, payload.solution, pending.difficulty))) {
			return invalid(`SHA-256 of nonce:solution must start with ${pending.difficulty} zero bits`);
		}
		// Solved: no answer frame; the next join_queue simply works.
		delete att.challenge;
		ws.serializeAttachment(att);
		this.abuse.solved(user, Date.now());
	}

	private readonly blocked = (a: string, b: string): boolean => this.store.blocked(a, b, Date.now());

	/** Pairs `seeker` with `match.partner`: one storage write, then tickets and hand-over. */
	private async makeMatch(seeker: Seeker, match: Match, now: number): Promise<void> {
		const pair = [seeker, match.partner] as const;
		const chatId = newChatId();
		const sockets = pair.map((s) => {
			this.queue.remove(s.userId);
			const ws = this.sockets.get(s.userId);
			// Their lobby sockets close now; from here on they count as chatting.
			this.sockets.delete(s.userId);
			this.setChattingInLobby(s.userId, false);
			const att = ws ? this.hub.attachment(ws) : null;
			if (ws && att) {
				delete att.queued;
				ws.serializeAttachment(att);
			}
			return { ws, address: att?.address ?? null };
		});
		this.abuse.chatStarted(
			pair.map((s, i) => ({ user: s.userId, address: sockets[i]?.address ?? null })),
			now,
		);
		this.store.recordMatch(chatId, seeker.userId, match.partner.userId, now);
		this.load.matched();
		this.matchStats.record(now - Math.min(seeker.joinedAt, match.partner.joinedAt), match.shared.length);
		this.alarms.fireBy(now + unjoinedChatGraceMs(this.timings));
		const chat: LiveChat = {
			chatId,
			userA: seeker.userId,
			userB: match.partner.userId,
			matchedAt: now,
			joined: false,
		};
		await Promise.all(
			pair.map(async (s, i) => {
				const ws = sockets[i]?.ws;
				if (!ws) return;
				const other = pair[1 - i] as Seeker;
				const ref = await this.chatRef(chat, s.userId, this.hub.attachment(ws).origin);
				const partner = { gender: other.gender, ...(other.language ? { language: other.language } : {}) };
				send(ws, "match_found", { ...ref, partner, shared_interests: match.shared });
				closeSocket(ws, CLOSE_MATCHED);
			}),
		);
	}

	private async chatRef(chat: LiveChat, user: string, origin: string): Promise<ChatRef> {
		const signer = this.signer as Signer;
		const partner = user === chat.userA ? chat.userB : chat.userA;
		const ticket = await signer.ticket({
			c: chat.chatId,
			u: user,
			p: partner,
			m: chat.matchedAt,
			// A chat lives at most TICKET_TTL_MS: no ticket outlives it.
			e: chat.matchedAt + TICKET_TTL_MS,
			l: this.name,
		});
		return { chat_id: chat.chatId, ticket, chat_url: `${origin}/ws/chat/${chat.chatId}?ticket=${ticket}` };
	}

	/** Closes a socket for breaking a rule of the protocol. */
	private shut(ws: WebSocket, close: { code: number; reason: string }): void {
		this.dropSocket(ws);
		closeSocket(ws, close);
	}

	/**
	 * When to look at a socket opened at `opened` for its `init`: rounded up to
	 * the next second, so that a stream of new sockets shares one alarm.
	 */
	private initDeadline(opened: number): number {
		return Math.ceil((opened + this.timings.initTimeoutMs) / 1000) * 1000;
	}

	/** Closes sockets that have not said `init` in time (4408). */
	private closeUninitialised(now: number): void {
		let count = 0;
		for (const ws of this.awaitingInit.takeOpenedBefore(now - this.timings.initTimeoutMs)) {
			if (ws.readyState !== WebSocket.OPEN || this.hub.attachment(ws).user !== undefined) continue;
			closeSocket(ws, CLOSE_INIT_TIMEOUT);
			count++;
		}
		if (count > 0) log({ event: "init_timeout", count });
	}

	/** A socket is gone (closed, replaced, silent, shut): its user's index entries and queue entry go with it. */
	private dropSocket(ws: WebSocket): void {
		const user = this.hub.attachment(ws).user;
		if (!user || this.sockets.get(user) !== ws) return;
		this.sockets.delete(user);
		this.chattingInLobby.delete(user);
		this.queue.remove(user);
	}

	private setChattingInLobby(user: string, chatting: boolean): void {
		if (!chatting) {
			if (!this.chattingInLobby.delete(user)) return;
			const ws = this.sockets.get(user);
			if (ws) {
				const att = this.hub.attachment(ws);
				delete att.chatting;
				ws.serializeAttachment(att);
			}
			return;
		}
		this.chattingInLobby.add(user);
	}

	/**
	 * Counters may have changed: publish them to Presence now, or when
	 * PUBLISH_EVERY_MS has passed since the last publication (the alarm).
	 */
	private presenceChanged(now: number): void {
		if (this.publishDue !== null) return;
		const due = this.publishedAt + PUBLISH_EVERY_MS;
		if (now < due) {
			this.publishDue = due;
			this.alarms.fireBy(due);
			return;
		}
		const stats = this.counters();
		if (this.published && sameStats(stats, this.published)) return;
		this.published = stats;
		this.publishedAt = now;
		// Not awaited: the Matchmaker's events never wait on another object.
		presenceStub(this.env, this.name)
			.publish(stats)
			.catch((err: unknown) => {
				// Published again at the next change.
				this.published = null;
				log({ event: "internal_error", where: "matchmaker: publish presence", error: errorText(err) });
			});
	}

	private presence(): Presence {
		const chatting = 2 * this.store.liveChatCount();
		return {
			online: this.sockets.size - this.chattingInLobby.size + chatting,
			waiting: this.queue.size,
			chatting,
		};
	}

	/** The earliest pending deadline: an interest window, a sweep, a chat nobody joined, a publication. */
	private reschedule(now: number): void {
		const deadlines: number[] = [];
		if (this.publishDue !== null) deadlines.push(this.publishDue);
		const opened = this.awaitingInit.oldest();
		if (opened !== undefined) deadlines.push(this.initDeadline(opened));
		const window = this.queue.nextWindowEnd();
		if (window !== undefined) deadlines.push(window);
		// The sweep also writes the match summary, so it runs while one is pending.
		if (this.matchStats.pending || this.ctx.getWebSockets().length > 0) deadlines.push(this.hub.nextSweepAt);
		const unjoined = this.store.oldestUnjoined();
		if (unjoined !== null) deadlines.push(unjoined + unjoinedChatGraceMs(this.timings));
		if (deadlines.length > 0) this.alarms.fireBy(Math.max(now + 1, Math.min(...deadlines)));
	}
}

function sameStats(a: Stats, b: Stats): boolean {
	return (Object.keys(a) as (keyof Stats)[]).every((k) => a[k] === b[k]);
}

/** The tag that groups one address's lobby sockets (an address tag is 22 base64url characters). */
const addressTagName = (address: string) => `address:${address}`;

/** Seconds a client refused for holding too many sockets is asked to wait. */
const RETRY_SOCKETS_S = 10;
