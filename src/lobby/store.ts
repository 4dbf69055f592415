// The Matchmaker's durable memory, in its SQLite storage: live chats (who is
// in which chat, for `in_chat`, `ready.chat` and presence) and the pairs that
// must not be matched again (rule 4). Everything else it knows is rebuilt from
// its sockets' attachments after hibernation.

/** How long "we just talked" keeps two people apart when neither chats with anyone else. */
export const LAST_PARTNER_TTL_MS = 24 * 60 * 60 * 1000;
/** Each user's last few partners are kept away from them for a while, not just the last one. */
export const RECENT_PARTNERS = { count: 3, ttlMs: 5 * 60 * 1000 } as const;
/** A reported pair never meets again for this long; reports count toward flagging for a day. */
export const REPORT_TTL_MS = 30 * 24 * 60 * 60 * 1000;
export const FLAG_WINDOW_MS = 24 * 60 * 60 * 1000;
/** Reported by this many different people within FLAG_WINDOW_MS: matched only with others in the same state. */
export const FLAG_REPORTERS = 3;

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
			CREATE INDEX IF NOT EXISTS reported_pairs_at ON reported_pairs(at);
			CREATE TABLE IF NOT EXISTS reports (
				reporter TEXT NOT NULL,
				reported TEXT NOT NULL,
				reason TEXT NOT NULL,
				at INTEGER NOT NULL
			);
			CREATE INDEX IF NOT EXISTS reports_reported ON reports(reported, at);
			CREATE INDEX IF NOT EXISTS reports_at ON reports(at);
			CREATE TABLE IF NOT EXISTS partners (
				user_id TEXT NOT NULL,
				partner_id TEXT NOT NULL,
				at INTEGER NOT NULL
			);
			CREATE INDEX IF NOT EXISTS partners_user ON partners(user_id, at);
			CREATE INDEX IF NOT EXISTS partners_at ON partners(at);
			CREATE TABLE IF NOT EXISTS challenges (at INTEGER NOT NULL);
			CREATE INDEX IF NOT EXISTS challenges_at ON challenges(at);
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
		this.sql.exec(
			"INSERT INTO partners (user_id, partner_id, at) VALUES (?1, ?2, ?3), (?2, ?1, ?3)",
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

	/** A report: the pair never meets again, and it counts toward flagging the reported user. No content. */
	recordReport(reporter: string, reported: string, reason: string, now: number): void {
		this.sql.exec("INSERT OR REPLACE INTO reported_pairs (pair, at) VALUES (?, ?)", pairKey(reporter, reported), now);
		this.sql.exec(
			"INSERT INTO reports (reporter, reported, reason, at) VALUES (?, ?, ?, ?)",
			reporter,
			reported,
			reason,
			now,
		);
	}

	/** Reported by FLAG_REPORTERS different people within the last day. */
	flagged(user: string, now: number): boolean {
		const { n } = this.sql
			.exec<{ n: number }>(
				"SELECT COUNT(DISTINCT reporter) AS n FROM reports WHERE reported = ? AND at > ?",
				user,
				now - FLAG_WINDOW_MS,
			)
			.one();
		return n >= FLAG_REPORTERS;
	}

	/**
	 * Rule 4 and the safety rules: each other's last partner, one of either's
	 * last three partners within five minutes, or a reported pair (30 days).
	 */
	blocked(a: string, b: string, now: number): boolean {
		const last = this.sql
			.exec(
				"SELECT 1 FROM last_partner WHERE (user_id = ?1 AND partner_id = ?2) OR (user_id = ?2 AND partner_id = ?1) LIMIT 1",
				a,
				b,
			)
			.toArray();
		if (last.length > 0) return true;
		if (this.recentPartner(a, b, now) || this.recentPartner(b, a, now)) return true;
		return (
			this.sql
				.exec("SELECT 1 FROM reported_pairs WHERE pair = ? AND at > ?", pairKey(a, b), now - REPORT_TTL_MS)
				.toArray().length > 0
		);
	}

	private recentPartner(user: string, other: string, now: number): boolean {
		for (const row of this.sql.exec<{ partner_id: string; at: number }>(
			"SELECT partner_id, at FROM partners WHERE user_id = ? ORDER BY at DESC, rowid DESC LIMIT ?",
			user,
			RECENT_PARTNERS.count,
		)) {
			if (row.partner_id === other && row.at > now - RECENT_PARTNERS.ttlMs) return true;
		}
		return false;
	}

	recordChallenge(now: number): void {
		this.sql.exec("INSERT INTO challenges (at) VALUES (?)", now);
	}

	/** Counters for /api/stats: reports and challenges of the last 24 hours. */
	safetyCounts(now: number): { reports_24h: number; challenges_24h: number } {
		const since = now - 24 * 60 * 60 * 1000;
		return {
			reports_24h: this.sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM reports WHERE at > ?", since).one().n,
			challenges_24h: this.sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM challenges WHERE at > ?", since).one().n,
		};
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

	/** Drops what has aged out: last partners, recent partners, reports, challenges. */
	forgetExpired(now: number): void {
		this.sql.exec("DELETE FROM last_partner WHERE at < ?", now - LAST_PARTNER_TTL_MS);
		this.sql.exec("DELETE FROM partners WHERE at < ?", now - RECENT_PARTNERS.ttlMs);
		this.sql.exec("DELETE FROM reported_pairs WHERE at < ?", now - REPORT_TTL_MS);
		this.sql.exec("DELETE FROM reports WHERE at < ?", now - FLAG_WINDOW_MS);
		this.sql.exec("DELETE FROM challenges WHERE at < ?", now - 24 * 60 * 60 * 1000);
	}
}
