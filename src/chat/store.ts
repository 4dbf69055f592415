// A chat's durable state in its own SQLite storage: who is in it and every
// accepted message until the chat ends (so an offline partner gets them on
// return and `after=N` can fill gaps). The tables exist only while the chat
// lives: `deleteAll` leaves nothing behind.
//
// A message costs exactly one INSERT (one B-tree, no secondary index): the
// counter is the highest id, whether it reached the partner's socket is a
// column of its row, and `client_msg_id` lookups go through an index kept in
// memory and rebuilt from the rows when the object wakes. Each write is a
// commit the runtime waits for, so every statement here is on the relay's
// hot path.
import { codePoints, type ReportReason } from "../protocol/schemas";
import type { ChatState, Member } from "./lifecycle";

export interface StoredMessage {
	id: number;
	sender: string;
	content: string;
	clientMsgId: string | null;
	sentAt: number;
}

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
		lobby: string;
		chatId: string;
		reason: string;
		/** Both users (absent in tombstones written before version 1.1). */
		users?: readonly [string, string];
		reportedBy?: string;
		reportReason?: ReportReason;
	};
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
const LOBBY_TOLD = "lobby_told";

const clientKey = (sender: string, clientMsgId: string) => `${sender}\n${clientMsgId}`;

export class ChatStore {
	/** The in-memory client_msg_id index (id and time only, for the ack); undefined until first needed after a wake. */
	private byClient: Map<string, AcceptedAs> | undefined;
	/** Messages stored and their length, counted once per wake; undefined until needed. */
	private stored: { messages: number; chars: number } | undefined;

	constructor(
		private readonly storage: DurableObjectStorage,
		private readonly limits: StoredLimits = STORED_LIMITS,
	) {}

	private get sql(): SqlStorage {
		return this.storage.sql;
	}

	private hasTables(): boolean {
		return this.sql.exec("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'chat'").toArray().length > 0;
	}

	load(): ChatState | null {
		if (!this.hasTables()) return null;
		const chat = this.sql
			.exec<{ chat_id: string; user_a: string; user_b: string; matched_at: number; lobby: string; next_id: number }>(
				"SELECT chat_id, user_a, user_b, matched_at, lobby, next_id FROM chat",
			)
			.toArray()[0];
		if (!chat) return null;
		const members: Record<string, Member> = {};
		for (const m of this.sql.exec<{
			user_id: string;
			joined: number;
			delivered: number;
			offline_since: number | null;
			sent: number;
			relayed: number | null;
		}>(
			`SELECT user_id, joined, delivered, offline_since,
				(SELECT COUNT(*) FROM messages WHERE sender = members.user_id) AS sent,
				(SELECT MAX(id) FROM messages WHERE sender != members.user_id AND relayed = 1) AS relayed
			FROM members`,
		)) {
			members[m.user_id] = {
				joined: m.joined === 1,
				delivered: Math.max(m.delivered, m.relayed ?? 0),
				offlineSince: m.offline_since,
				sent: m.sent,
			};
		}
		const last = this.sql.exec<{ id: number | null }>("SELECT MAX(id) AS id FROM messages").one().id ?? 0;
		return {
			chatId: chat.chat_id,
			users: [chat.user_a, chat.user_b],
			matchedAt: chat.matched_at,
			lobby: chat.lobby,
			nextId: Math.max(chat.next_id, last + 1),
			members,
		};
	}

	create(state: ChatState): void {
		this.sql.exec(`
			CREATE TABLE IF NOT EXISTS chat (
				chat_id TEXT NOT NULL, user_a TEXT NOT NULL, user_b TEXT NOT NULL,
				matched_at INTEGER NOT NULL, lobby TEXT NOT NULL, next_id INTEGER NOT NULL
			);
			CREATE TABLE IF NOT EXISTS members (
				user_id TEXT PRIMARY KEY, joined INTEGER NOT NULL, delivered INTEGER NOT NULL,
				offline_since INTEGER
			);
			CREATE TABLE IF NOT EXISTS messages (
				id INTEGER PRIMARY KEY, sender TEXT NOT NULL, content TEXT NOT NULL,
				client_msg_id TEXT, sent_at INTEGER NOT NULL,
				relayed INTEGER NOT NULL DEFAULT 0
			);
		`);
		const [a, b] = state.users;
		this.sql.exec(
			"INSERT INTO chat (chat_id, user_a, user_b, matched_at, lobby, next_id) VALUES (?, ?, ?, ?, ?, ?)",
			state.chatId,
			a,
			b,
			state.matchedAt,
			state.lobby,
			state.nextId,
		);
		for (const user of state.users) this.saveMember(user, state.members[user]);
	}

	saveMember(user: string, m: Member | undefined): void {
		if (!m) return;
		this.sql.exec(
			"INSERT OR REPLACE INTO members (user_id, joined, delivered, offline_since) VALUES (?, ?, ?, ?)",
			user,
			m.joined ? 1 : 0,
			m.delivered,
			m.offlineSince,
		);
	}

	/** The message a sender already sent with this `client_msg_id`, if any. */
	byClientId(sender: string, clientMsgId: string): AcceptedAs | null {
		return this.clientIds().get(clientKey(sender, clientMsgId)) ?? null;
	}

	private storedCounts(): { messages: number; chars: number } {
		if (!this.stored) {
			const row = this.hasTables()
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

	/**
	 * Whether a message of `chars` code points fits within the chat's bounds,
	 * after dropping the oldest messages the partner already got if need be:
	 * those written to its socket as they came (`relayed`) and those it was
	 * sent on its return (up to its `delivered` mark).
	 */
	makeRoom(chars: number): boolean {
		const stored = this.storedCounts();
		const fits = () => stored.messages + 1 <= this.limits.messages && stored.chars + chars <= this.limits.chars;
		if (fits()) return true;
		for (const row of this.sql.exec<{ id: number; sender: string; client_msg_id: string | null; chars: number }>(
			`DELETE FROM messages WHERE id IN (
				SELECT m.id FROM messages m JOIN members r ON r.user_id != m.sender
				WHERE m.relayed = 1 OR m.id <= r.delivered ORDER BY m.id LIMIT ?)
			RETURNING id, sender, client_msg_id, length(content) AS chars`,
			this.limits.pruneBatch,
		)) {
			stored.messages--;
			stored.chars -= row.chars;
			if (row.client_msg_id !== null) this.byClient?.delete(clientKey(row.sender, row.client_msg_id));
		}
		return fits();
	}

	/**
	 * Stores an accepted message (after `makeRoom`): its id is the new counter.
	 * `relayed`: it was written to the recipient's socket, so it is not held for them.
	 */
	append(message: StoredMessage, relayed: boolean): void {
		this.sql.exec(
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
			this.clientIds().set(clientKey(message.sender, message.clientMsgId), { id: message.id, sentAt: message.sentAt });
		}
	}

	/** sender + client_msg_id → id and time, read from the rows once per wake. */
	private clientIds(): Map<string, AcceptedAs> {
		if (this.byClient) return this.byClient;
		const index = new Map<string, AcceptedAs>();
		if (this.hasTables()) {
			for (const row of this.sql.exec<{ id: number; sender: string; client_msg_id: string; sent_at: number }>(
				"SELECT id, sender, client_msg_id, sent_at FROM messages WHERE client_msg_id IS NOT NULL",
			)) {
				index.set(clientKey(row.sender, row.client_msg_id), { id: row.id, sentAt: row.sent_at });
			}
		}
		this.byClient = index;
		return index;
	}

	/** Messages to `recipient` (sent by the other user) with id > `after`, in id order. */
	*messagesFor(recipient: string, after: number): Generator<StoredMessage> {
		for (const row of this.sql.exec<{ id: number; sender: string; content: string; sent_at: number }>(
			"SELECT id, sender, content, sent_at FROM messages WHERE id > ? AND sender != ? ORDER BY id",
			after,
			recipient,
		)) {
			yield { id: row.id, sender: row.sender, content: row.content, clientMsgId: null, sentAt: row.sent_at };
		}
	}

	/** Whether the Matchmaker has heard that this chat started. */
	lobbyTold(): boolean {
		return this.storage.kv.get<boolean>(LOBBY_TOLD) === true;
	}

	markLobbyTold(): void {
		this.storage.kv.put(LOBBY_TOLD, true);
	}

	tombstone(): Tombstone | undefined {
		return this.storage.kv.get<Tombstone>(TOMBSTONE);
	}

	/** Deletes everything the chat stored, keeping only a tombstone if one is still needed. */
	async wipe(tombstone: Tombstone | null): Promise<void> {
		this.byClient = new Map();
		this.stored = { messages: 0, chars: 0 };
		await this.storage.deleteAll();
		if (tombstone) this.storage.kv.put(TOMBSTONE, tombstone);
	}
}
