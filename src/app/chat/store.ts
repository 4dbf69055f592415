// A chat's durable state in its own SQLite storage: one row for the chat
// (its users, their joined/delivered/offline marks, the message-id
// reservation, and while nobody is online what the room held in memory) and
// the messages the server is responsible for and the partner has not
// confirmed. `deleteAll` at the end leaves nothing behind.
//
// Rows written are the bill (ARCHITECTURE.md 1.1), so every write goes
// through the object's RowMeter, and a message is stored only when its
// partner did not confirm it in time or is offline: with two clients that
// send receipts, a chat stores no message at all. The messages table is
// created on the first message stored, not with the chat.

import { bySide, type ChatState, type Member, newMember, type StoredMember } from "../../domain/chat/lifecycle";
import type { AcceptedMessage } from "../../domain/chat/unconfirmed";
import { codePoints, type EndReason, type ReportReason } from "../../protocol/schemas";
import type { RowMeter } from "../row-meter";

/** What a resend with a known `client_msg_id` is acked with again. */
export interface AcceptedAs {
	id: number;
	sentAt: number;
}

/** Ended chats keep only this, until their tickets can no longer start a chat. */
export interface Tombstone {
	until: number;
	/** A Matchmaker notice that failed and is retried by the alarm. */
	notify?: {
		/** The Matchmaker's name (stored under this key). */
		lobby: string;
		chatId: string;
		reason: EndReason;
		/** Both users (absent in tombstones written before version 1.1). */
		users?: readonly [string, string];
		reportedBy?: string;
		reportReason?: ReportReason;
	};
}

/** A chat as stored, with what the ChatRoom needs to resume it. */
export interface LoadedChat {
	state: ChatState;
	/** Ids below this may have been handed out (message-ids.ts). */
	reservedBelow: number;
	/** The highest id stored, 0 if none. */
	lastStored: number;
	/** The Matchmaker has heard that the chat started (`chatJoined`). */
	matchmakerTold: boolean;
	/** What the ChatRoom kept in memory, written when its last socket closed (JSON); null while anyone is online. */
	kept: string | null;
}

/**
 * What a chat keeps at most: the partner's socket already has every message
 * marked relayed, so the oldest of those are dropped first (kept only for an
 * `after=N` that asks again); messages held for an offline partner are never
 * dropped, a sender is refused instead (`rate_limited`). Lengths are in
 * code points (SQLite's `length`), so 512 Ki of them are 0.5 to 2 MiB.
 */
export const STORED_LIMITS = { messages: 500, chars: 512 * 1024, pruneBatch: 50 } as const;
export type StoredLimits = { messages: number; chars: number; pruneBatch: number };

const TOMBSTONE = "ended";
/** Written by the first version: whether the Matchmaker was told, in sync KV under this key; members in their own table. */
const OLD_MATCHMAKER_TOLD_KEY = "lobby_told";

const clientKey = (sender: string, clientMsgId: string) => `${sender}\n${clientMsgId}`;

export class ChatStore {
	/** The client_msg_id index of stored messages; undefined until first needed after a wake. */
	private byClient: Map<string, AcceptedAs> | undefined;
	/** Messages stored and their length, counted once per wake; undefined until needed. */
	private stored: { messages: number; chars: number } | undefined;
	/** Per sender, the lowest id stored (so a receipt deletes only when there is something to delete). */
	private lowestStored: Map<string, number> | undefined;
	private messagesTable: boolean | undefined;

	constructor(
		private readonly storage: DurableObjectStorage,
		private readonly meter: RowMeter,
		private readonly limits: StoredLimits = STORED_LIMITS,
	) {}

	private get sql(): SqlStorage {
		return this.storage.sql;
	}

	private tableExists(name: string): boolean {
		return this.sql.exec("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", name).toArray().length > 0;
	}

	private hasMessages(): boolean {
		this.messagesTable ??= this.tableExists("messages");
		return this.messagesTable;
	}

	load(): LoadedChat | null {
		if (!this.tableExists("chat")) return null;
		this.migrate();
		const chat = this.sql
			.exec<{
				chat_id: string;
				user_a: string;
				user_b: string;
				matched_at: number;
				lobby: string;
				next_id: number;
				members: string;
				lobby_told: number;
				kept: string | null;
			}>("SELECT chat_id, user_a, user_b, matched_at, lobby, next_id, members, lobby_told, kept FROM chat")
			.toArray()[0];
		if (!chat) return null;
		const stored = JSON.parse(chat.members) as Record<string, StoredMember>;
		const users = [chat.user_a, chat.user_b] as const;
		let lastStored = 0;
		const load = (user: string): Member => {
			const member = { ...newMember(), ...stored[user] };
			if (this.hasMessages()) {
				const mine = this.sql
					.exec<{ n: number; last: number | null }>(
						"SELECT COUNT(*) AS n, MAX(id) AS last FROM messages WHERE sender = ?",
						user,
					)
					.one();
				const relayed = this.sql
					.exec<{ last: number | null }>("SELECT MAX(id) AS last FROM messages WHERE sender != ? AND relayed = 1", user)
					.one();
				member.sent = mine.n;
				member.lastSent = mine.last ?? 0;
				member.delivered = Math.max(member.delivered, relayed.last ?? 0);
				lastStored = Math.max(lastStored, member.lastSent);
			}
			return member;
		};
		const state: ChatState = {
			chatId: chat.chat_id,
			users,
			matchedAt: chat.matched_at,
			lobby: chat.lobby,
			members: { a: load(chat.user_a), b: load(chat.user_b) },
		};
		return {
			state,
			reservedBelow: chat.next_id,
			lastStored,
			matchmakerTold: chat.lobby_told === 1,
			kept: chat.kept,
		};
	}

	/** A chat stored by an earlier version (a members table, lobby_told in KV; no kept column) moves to the one-row form. */
	private migrate(): void {
		const columns = new Set(
			this.sql
				.exec<{ name: string }>("SELECT name FROM pragma_table_info('chat')")
				.toArray()
				.map((c) => c.name),
		);
		if (!columns.has("kept")) this.meter.exec("ALTER TABLE chat ADD COLUMN kept TEXT");
		if (columns.has("members")) return;
		const members: Record<string, StoredMember> = {};
		if (this.tableExists("members")) {
			for (const m of this.sql.exec<{
				user_id: string;
				joined: number;
				delivered: number;
				offline_since: number | null;
			}>("SELECT user_id, joined, delivered, offline_since FROM members")) {
				members[m.user_id] = { joined: m.joined === 1, delivered: m.delivered, offlineSince: m.offline_since };
			}
		}
		const told = this.storage.kv.get<boolean>(OLD_MATCHMAKER_TOLD_KEY) === true;
		// Its ids were consecutive and all stored: the old next_id is a valid reservation.
		this.meter.exec("ALTER TABLE chat ADD COLUMN members TEXT NOT NULL DEFAULT '{}'");
		this.meter.exec("ALTER TABLE chat ADD COLUMN lobby_told INTEGER NOT NULL DEFAULT 0");
		this.meter.exec("UPDATE chat SET members = ?, lobby_told = ?", JSON.stringify(members), told ? 1 : 0);
		this.meter.exec("DROP TABLE IF EXISTS members");
	}

	/** The chat's one row: its users, their marks, the first block of message ids. */
	create(state: ChatState, reservedBelow: number): void {
		this.meter.exec(`
			CREATE TABLE IF NOT EXISTS chat (
				chat_id TEXT NOT NULL, user_a TEXT NOT NULL, user_b TEXT NOT NULL,
				matched_at INTEGER NOT NULL, lobby TEXT NOT NULL, next_id INTEGER NOT NULL,
				members TEXT NOT NULL, lobby_told INTEGER NOT NULL DEFAULT 0, kept TEXT
			)`);
		const [a, b] = state.users;
		this.meter.exec(
			"INSERT INTO chat (chat_id, user_a, user_b, matched_at, lobby, next_id, members) VALUES (?, ?, ?, ?, ?, ?, ?)",
			state.chatId,
			a,
			b,
			state.matchedAt,
			state.lobby,
			reservedBelow,
			membersJson(state),
		);
	}

	/**
	 * Both members' stored marks, in one row write; with `kept` (JSON) when
	 * nobody is online any more, since no attachment then survives an
	 * eviction, and without it (cleared) once someone is back.
	 */
	saveMembers(state: ChatState, kept: string | null = null): void {
		this.meter.exec("UPDATE chat SET members = ?, kept = ?", membersJson(state), kept);
	}

	/** Moves the message-id reservation (message-ids.ts): one row per block of ids. */
	reserveIds(below: number): void {
		this.meter.exec("UPDATE chat SET next_id = ?", below);
	}

	/** The Matchmaker heard that the chat started. */
	markMatchmakerTold(): void {
		this.meter.exec("UPDATE chat SET lobby_told = 1");
	}

	/** The stored message a sender already sent with this `client_msg_id`, if any. */
	byClientId(sender: string, clientMsgId: string): AcceptedAs | null {
		return this.clientIds().get(clientKey(sender, clientMsgId)) ?? null;
	}

	private storedCounts(): { messages: number; chars: number } {
		if (!this.stored) {
			const row = this.hasMessages()
				? this.sql
						.exec<{ n: number; chars: number | null }>(
							"SELECT COUNT(*) AS n, SUM(length(content)) AS chars FROM messages",
						)
						.one()
				: { n: 0, chars: 0 };
			this.stored = { messages: row.n, chars: row.chars ?? 0 };
		}
		return this.stored;
	}

	/** How many messages are stored now. */
	storedMessages(): number {
		return this.storedCounts().messages;
	}

	/**
	 * Whether a message of `chars` code points fits within the chat's bounds,
	 * after dropping the oldest messages the partner already got if need be:
	 * those written to its socket as they came (`relayed`) and those it was
	 * sent on its return (up to its `delivered` mark).
	 */
	makeRoom(chars: number, state: ChatState): boolean {
		const stored = this.storedCounts();
		const fits = () => stored.messages + 1 <= this.limits.messages && stored.chars + chars <= this.limits.chars;
		if (fits()) return true;
		const [a, b] = state.users;
		for (const row of this.meter.exec<{ id: number; sender: string; client_msg_id: string | null; chars: number }>(
			`DELETE FROM messages WHERE id IN (
				SELECT id FROM messages
				WHERE relayed = 1 OR (sender = ?1 AND id <= ?3) OR (sender = ?2 AND id <= ?4)
				ORDER BY id LIMIT ?5)
			RETURNING id, sender, client_msg_id, length(content) AS chars`,
			a,
			b,
			state.members.b.delivered,
			state.members.a.delivered,
			this.limits.pruneBatch,
		)) {
			this.uncount(row);
		}
		this.lowestStored = undefined;
		return fits();
	}

	/** A stored message was deleted: out of the counts and the client_msg_id index. */
	private uncount(row: { sender: string; client_msg_id: string | null; chars: number }): void {
		const stored = this.storedCounts();
		stored.messages--;
		stored.chars -= row.chars;
		if (row.client_msg_id !== null) this.byClient?.delete(clientKey(row.sender, row.client_msg_id));
	}

	/**
	 * Stores accepted messages the server now answers for (after `makeRoom`).
	 * `relayed`: each was written to the recipient's socket already.
	 */
	append(messages: readonly AcceptedMessage[], relayed: boolean): void {
		if (messages.length === 0) return;
		if (!this.hasMessages()) {
			this.meter.exec(`CREATE TABLE IF NOT EXISTS messages (
				id INTEGER PRIMARY KEY, sender TEXT NOT NULL, content TEXT NOT NULL,
				client_msg_id TEXT, sent_at INTEGER NOT NULL, relayed INTEGER NOT NULL DEFAULT 0
			)`);
			this.messagesTable = true;
		}
		for (const message of messages) {
			this.meter.exec(
				"INSERT INTO messages (id, sender, content, client_msg_id, sent_at, relayed) VALUES (?, ?, ?, ?, ?, ?)",
				message.id,
				message.sender,
				message.content,
				message.clientMsgId,
				message.sentAt,
				relayed ? 1 : 0,
			);
			const stored = this.storedCounts();
			stored.messages++;
			stored.chars += codePoints(message.content);
			if (message.clientMsgId !== null) {
				this.clientIds().set(clientKey(message.sender, message.clientMsgId), {
					id: message.id,
					sentAt: message.sentAt,
				});
			}
			const lowest = this.lowestStoredBy().get(message.sender);
			if (lowest === undefined || message.id < lowest) this.lowestStoredBy().set(message.sender, message.id);
		}
	}

	/** Drops the stored messages of `sender` its partner confirmed (id ≤ upTo); writes only if there are any. */
	dropConfirmed(sender: string, upTo: number): void {
		const lowest = this.lowestStoredBy().get(sender);
		if (lowest === undefined || lowest > upTo) return;
		for (const row of this.meter.exec<{ sender: string; client_msg_id: string | null; chars: number }>(
			"DELETE FROM messages WHERE sender = ? AND id <= ? RETURNING sender, client_msg_id, length(content) AS chars",
			sender,
			upTo,
		)) {
			this.uncount(row);
		}
		this.lowestStored = undefined;
	}

	private lowestStoredBy(): Map<string, number> {
		if (!this.lowestStored) {
			const lowest = new Map<string, number>();
			if (this.hasMessages()) {
				for (const row of this.sql.exec<{ sender: string; id: number }>(
					"SELECT sender, MIN(id) AS id FROM messages GROUP BY sender",
				)) {
					lowest.set(row.sender, row.id);
				}
			}
			this.lowestStored = lowest;
		}
		return this.lowestStored;
	}

	/** sender + client_msg_id → id and time, read from the rows once per wake. */
	private clientIds(): Map<string, AcceptedAs> {
		if (this.byClient) return this.byClient;
		const index = new Map<string, AcceptedAs>();
		if (this.hasMessages()) {
			for (const row of this.sql.exec<{ id: number; sender: string; client_msg_id: string; sent_at: number }>(
				"SELECT id, sender, client_msg_id, sent_at FROM messages WHERE client_msg_id IS NOT NULL",
			)) {
				index.set(clientKey(row.sender, row.client_msg_id), { id: row.id, sentAt: row.sent_at });
			}
		}
		this.byClient = index;
		return index;
	}

	/** Stored messages to `recipient` (sent by the other user) with id > `after`, in id order. */
	messagesFor(recipient: string, after: number): AcceptedMessage[] {
		if (!this.hasMessages()) return [];
		return this.sql
			.exec<{ id: number; sender: string; content: string; client_msg_id: string | null; sent_at: number }>(
				"SELECT id, sender, content, client_msg_id, sent_at FROM messages WHERE id > ? AND sender != ? ORDER BY id",
				after,
				recipient,
			)
			.toArray()
			.map((row) => ({
				id: row.id,
				sender: row.sender,
				content: row.content,
				clientMsgId: row.client_msg_id,
				sentAt: row.sent_at,
			}));
	}

	tombstone(): Tombstone | undefined {
		return this.storage.kv.get<Tombstone>(TOMBSTONE);
	}

	/** Deletes everything the chat stored, keeping only a tombstone if one is still needed. */
	async wipe(tombstone: Tombstone | null): Promise<void> {
		// Every row deleted is billed: the chat's row and the messages still stored.
		this.meter.add((this.tableExists("chat") ? 1 : 0) + this.storedCounts().messages);
		this.byClient = new Map();
		this.stored = { messages: 0, chars: 0 };
		this.lowestStored = new Map();
		this.messagesTable = false;
		await this.storage.deleteAll();
		if (tombstone) {
			this.storage.kv.put(TOMBSTONE, tombstone);
			this.meter.add(1);
		}
	}
}

function membersJson(state: ChatState): string {
	const out: Record<string, StoredMember> = {};
	for (const [side, user] of bySide(state)) {
		const m = state.members[side];
		out[user] = { joined: m.joined, delivered: m.delivered, offlineSince: m.offlineSince };
	}
	return JSON.stringify(out);
}
