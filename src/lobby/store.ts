// The Matchmaker's durable memory, in its SQLite storage: live chats (who is
// in which chat, for `in_chat`, `ready.chat` and presence) and the pairs that
// must not be matched again (rule 4). Everything else it knows is rebuilt from
// its sockets' attachments after hibernation.

/** How long "we just talked" keeps two people apart when neither chats with anyone else. */
export const LAST_PARTNER_TTL_MS = 24 * 60 * 60 * 1000;

export interface LiveChat {
	chatId: string;
	userA: string;
	userB: string;
	matchedAt: number;
	joined: boolean;
}

const pairKey = (a: string, b: string) => (a < b ? `${a}:${b}` : `${b}:${a}`);

export class LobbyStore {
	constructor(private readonly sql: SqlStorage) {
		sql.exec(`
			CREATE TABLE IF NOT EXISTS chats (
				chat_id TEXT PRIMARY KEY,
				user_a TEXT NOT NULL,
				user_b TEXT NOT NULL,
				matched_at INTEGER NOT NULL,
				joined INTEGER NOT NULL DEFAULT 0
			);
			CREATE INDEX IF NOT EXISTS chats_user_a ON chats(user_a);
			CREATE INDEX IF NOT EXISTS chats_user_b ON chats(user_b);
			CREATE INDEX IF NOT EXISTS chats_unjoined ON chats(joined, matched_at);
			CREATE TABLE IF NOT EXISTS last_partner (
				user_id TEXT PRIMARY KEY,
				partner_id TEXT NOT NULL,
				at INTEGER NOT NULL
			);
			CREATE INDEX IF NOT EXISTS last_partner_at ON last_partner(at);
			CREATE TABLE IF NOT EXISTS reported_pairs (
				pair TEXT PRIMARY KEY,
				at INTEGER NOT NULL
			);
		`);
	}

	countChats(): number {
		return this.sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM chats").one().n;
	}

	chatOf(userId: string): LiveChat | null {
		const row = this.sql
			.exec<{ chat_id: string; user_a: string; user_b: string; matched_at: number; joined: number }>(
				"SELECT * FROM chats WHERE user_a = ?1 UNION ALL SELECT * FROM chats WHERE user_b = ?1 LIMIT 1",
				userId,
			)
			.toArray()[0];
		return row
			? {
					chatId: row.chat_id,
					userA: row.user_a,
					userB: row.user_b,
					matchedAt: row.matched_at,
					joined: row.joined === 1,
				}
			: null;
	}

	/** The one write a match costs: the live chat and both last partners. */
	recordMatch(chatId: string, userA: string, userB: string, now: number): void {
		this.sql.exec(
			"INSERT INTO chats (chat_id, user_a, user_b, matched_at) VALUES (?, ?, ?, ?)",
			chatId,
			userA,
			userB,
			now,
		);
		this.sql.exec(
			"INSERT OR REPLACE INTO last_partner (user_id, partner_id, at) VALUES (?1, ?2, ?3), (?2, ?1, ?3)",
			userA,
			userB,
			now,
		);
	}

	markJoined(chatId: string): void {
		this.sql.exec("UPDATE chats SET joined = 1 WHERE chat_id = ?", chatId);
	}

	/** Ends a live chat; returns it, or null if it was not live. */
	endChat(chatId: string): LiveChat | null {
		const row = this.sql
			.exec<{ user_a: string; user_b: string; matched_at: number; joined: number }>(
				"DELETE FROM chats WHERE chat_id = ? RETURNING user_a, user_b, matched_at, joined",
				chatId,
			)
			.toArray()[0];
		return row
			? { chatId, userA: row.user_a, userB: row.user_b, matchedAt: row.matched_at, joined: row.joined === 1 }
			: null;
	}

	recordReport(a: string, b: string, now: number): void {
		this.sql.exec("INSERT OR REPLACE INTO reported_pairs (pair, at) VALUES (?, ?)", pairKey(a, b), now);
	}

	/** Rule 4: last partners of each other (either way), or ever reported. */
	blocked(a: string, b: string): boolean {
		const last = this.sql
			.exec(
				"SELECT 1 FROM last_partner WHERE (user_id = ?1 AND partner_id = ?2) OR (user_id = ?2 AND partner_id = ?1) LIMIT 1",
				a,
				b,
			)
			.toArray();
		if (last.length > 0) return true;
		return this.sql.exec("SELECT 1 FROM reported_pairs WHERE pair = ?", pairKey(a, b)).toArray().length > 0;
	}

	/** Chats nobody joined, matched at or before `cutoff`; removed and returned. */
	takeUnjoinedBefore(cutoff: number): LiveChat[] {
		return this.sql
			.exec<{ chat_id: string; user_a: string; user_b: string; matched_at: number }>(
				"DELETE FROM chats WHERE joined = 0 AND matched_at <= ? RETURNING chat_id, user_a, user_b, matched_at",
				cutoff,
			)
			.toArray()
			.map((r) => ({ chatId: r.chat_id, userA: r.user_a, userB: r.user_b, matchedAt: r.matched_at, joined: false }));
	}

	oldestUnjoined(): number | null {
		return (
			this.sql.exec<{ m: number | null }>("SELECT MIN(matched_at) AS m FROM chats WHERE joined = 0").one().m ?? null
		);
	}

	forgetLastPartnersBefore(before: number): void {
		this.sql.exec("DELETE FROM last_partner WHERE at < ?", before);
	}
}
