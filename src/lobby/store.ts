// The Matchmaker's durable memory, in its SQLite storage: live chats (who is
// in which chat, for `in_chat`, `ready.chat` and presence), who met whom
// (rule 4), reports. Everything else it knows is rebuilt from its sockets'
// attachments after hibernation.
//
// Every join reads these rules and every match writes them, so reads go to
// in-memory copies: the live chats are loaded once per wake (there are at
// most as many as users online), each user's partners, reports and flag
// are loaded the first time that user is seen after a wake and kept while
// they are active. A match writes three rows (its chat, each user's new partner), one commit.

import { REPORT_AFTER_END_MS } from "../protocol/schemas";

/** How long "we just talked" keeps two people apart when neither chats with anyone else. */
export const LAST_PARTNER_TTL_MS = 24 * 60 * 60 * 1000;
/** Each user's last few partners are kept away from them for a while, not just the last one. */
export const RECENT_PARTNERS = { count: 3, ttlMs: 5 * 60 * 1000 } as const;
/** A reported pair never meets again for this long; reports count toward flagging for a day. */
export const REPORT_TTL_MS = 30 * 24 * 60 * 60 * 1000;
export const FLAG_WINDOW_MS = 24 * 60 * 60 * 1000;
/** Reported by this many different people within FLAG_WINDOW_MS: matched only with others in the same state. */
export const FLAG_REPORTERS = 3;
/** A user's rules stay in memory this long after they were last needed. */
const USER_MEMORY_IDLE_MS = 10 * 60 * 1000;

export interface LiveChat {
	chatId: string;
	userA: string;
	userB: string;
	matchedAt: number;
	joined: boolean;
}

/** A chat that ended: its users may still report each other for REPORT_AFTER_END_MS. */
export interface EndedChat {
	chatId: string;
	userA: string;
	userB: string;
	endedAt: number;
	/** Users who reported the other (so a second report is counted once). */
	reportedBy: string[];
}

/** What the matching rules need to know of one user, newest partner first. */
interface UserMemory {
	partners: { partner: string; at: number }[];
	/** Users this one reported or was reported by → when; null for the many who have none. */
	reported: Map<string, number> | null;
	/** Known not to be flagged until a new report about them arrives; flagged users are asked every time (rare). */
	notFlagged: boolean;
	usedAt: number;
}

export class LobbyStore {
	private readonly chats = new Map<string, LiveChat>();
	private readonly chatByUser = new Map<string, LiveChat>();
	/** Chats nobody joined yet, in the order they were matched (so the first is the oldest). */
	private readonly unjoined = new Map<string, LiveChat>();
	private readonly users = new Map<string, UserMemory>();
	/** Each user's last ended chat, while it can still be reported. */
	private readonly lastEnded = new Map<string, EndedChat>();
	/** The 24-hour safety counters of /api/stats, counted once per wake and kept up to date. */
	private reports24h: number;
	private challenges24h: number;

	private readonly sql: SqlStorage;

	constructor(private readonly storage: DurableObjectStorage) {
		const sql = storage.sql;
		this.sql = sql;
		sql.exec(`
			CREATE TABLE IF NOT EXISTS chats (
				chat_id TEXT PRIMARY KEY,
				user_a TEXT NOT NULL,
				user_b TEXT NOT NULL,
				matched_at INTEGER NOT NULL,
				joined INTEGER NOT NULL DEFAULT 0
			) WITHOUT ROWID;
			DROP INDEX IF EXISTS chats_user_a;
			DROP INDEX IF EXISTS chats_user_b;
			DROP INDEX IF EXISTS chats_unjoined;
			CREATE TABLE IF NOT EXISTS partner_history (
				user_id TEXT NOT NULL,
				partner_id TEXT NOT NULL,
				at INTEGER NOT NULL
			);
			CREATE INDEX IF NOT EXISTS partner_history_user ON partner_history(user_id, at);
			CREATE INDEX IF NOT EXISTS partner_history_at ON partner_history(at);
			CREATE TABLE IF NOT EXISTS reported (
				user_id TEXT NOT NULL,
				other_id TEXT NOT NULL,
				at INTEGER NOT NULL,
				PRIMARY KEY (user_id, other_id)
			) WITHOUT ROWID;
			CREATE INDEX IF NOT EXISTS reported_at ON reported(at);
			CREATE TABLE IF NOT EXISTS reports (
				reporter TEXT NOT NULL,
				reported TEXT NOT NULL,
				reason TEXT NOT NULL,
				at INTEGER NOT NULL
			);
			CREATE INDEX IF NOT EXISTS reports_reported ON reports(reported, at);
			CREATE INDEX IF NOT EXISTS reports_at ON reports(at);
			CREATE TABLE IF NOT EXISTS challenges (at INTEGER NOT NULL);
			CREATE INDEX IF NOT EXISTS challenges_at ON challenges(at);
		`);
		this.migrate();
		for (const row of sql.exec<{
			chat_id: string;
			user_a: string;
			user_b: string;
			matched_at: number;
			joined: number;
			ended_at: number | null;
			reported_by: string;
		}>("SELECT chat_id, user_a, user_b, matched_at, joined, ended_at, reported_by FROM chats ORDER BY matched_at")) {
			if (row.ended_at === null) {
				this.remember({
					chatId: row.chat_id,
					userA: row.user_a,
					userB: row.user_b,
					matchedAt: row.matched_at,
					joined: row.joined === 1,
				});
				continue;
			}
			this.rememberEnded({
				chatId: row.chat_id,
				userA: row.user_a,
				userB: row.user_b,
				endedAt: row.ended_at,
				reportedBy: row.reported_by === "" ? [] : row.reported_by.split(","),
			});
		}
		const since = Date.now() - 24 * 60 * 60 * 1000;
		this.reports24h = sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM reports WHERE at > ?", since).one().n;
		this.challenges24h = sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM challenges WHERE at > ?", since).one().n;
	}

	/** Tables of the first schema (one row per pair, a separate last-partner table), folded into the new ones once. */
	private migrate(): void {
		// Ended chats stay a few minutes, for reports after the end (PROTOCOL.md 1.1).
		const columns = new Set(
			this.sql
				.exec<{ name: string }>("SELECT name FROM pragma_table_info('chats')")
				.toArray()
				.map((c) => c.name),
		);
		if (!columns.has("ended_at")) this.sql.exec("ALTER TABLE chats ADD COLUMN ended_at INTEGER");
		if (!columns.has("reported_by")) this.sql.exec("ALTER TABLE chats ADD COLUMN reported_by TEXT NOT NULL DEFAULT ''");
		const old = new Set(
			this.sql
				.exec<{ name: string }>(
					"SELECT name FROM sqlite_master WHERE type = 'table' AND name IN ('last_partner', 'partners', 'reported_pairs')",
				)
				.toArray()
				.map((r) => r.name),
		);
		if (old.has("partners")) {
			this.sql.exec(
				"INSERT INTO partner_history (user_id, partner_id, at) SELECT user_id, partner_id, at FROM partners ORDER BY rowid",
			);
			this.sql.exec("DROP TABLE partners");
		}
		if (old.has("last_partner")) {
			// Each last partner is also among `partners` if it is under 5 minutes old; older ones are added.
			this.sql.exec(`INSERT INTO partner_history (user_id, partner_id, at)
				SELECT user_id, partner_id, at FROM last_partner l WHERE NOT EXISTS
				(SELECT 1 FROM partner_history h WHERE h.user_id = l.user_id AND h.partner_id = l.partner_id AND h.at = l.at)`);
			this.sql.exec("DROP TABLE last_partner");
		}
		if (old.has("reported_pairs")) {
			// pair = "a:b" of two 16-hex-digit user ids.
			this.sql.exec(`INSERT OR IGNORE INTO reported (user_id, other_id, at)
				SELECT substr(pair, 1, 16), substr(pair, 18), at FROM reported_pairs
				UNION ALL SELECT substr(pair, 18), substr(pair, 1, 16), at FROM reported_pairs`);
			this.sql.exec("DROP TABLE reported_pairs");
		}
	}

	private remember(chat: LiveChat): void {
		this.chats.set(chat.chatId, chat);
		this.chatByUser.set(chat.userA, chat);
		this.chatByUser.set(chat.userB, chat);
		if (!chat.joined) this.unjoined.set(chat.chatId, chat);
	}

	private forgetChat(chat: LiveChat): void {
		this.chats.delete(chat.chatId);
		this.unjoined.delete(chat.chatId);
		for (const user of [chat.userA, chat.userB]) {
			if (this.chatByUser.get(user) === chat) this.chatByUser.delete(user);
		}
	}

	private rememberEnded(chat: EndedChat): void {
		for (const user of [chat.userA, chat.userB]) {
			const known = this.lastEnded.get(user);
			if (!known || known.endedAt <= chat.endedAt) this.lastEnded.set(user, chat);
		}
	}

	countChats(): number {
		return this.chats.size;
	}

	chatOf(userId: string): LiveChat | null {
		return this.chatByUser.get(userId) ?? null;
	}

	/** The one write a match costs: the live chat and each user's new partner. */
	recordMatch(chatId: string, userA: string, userB: string, now: number): void {
		this.storage.transactionSync(() => {
			this.sql.exec(
				"INSERT INTO chats (chat_id, user_a, user_b, matched_at) VALUES (?, ?, ?, ?)",
				chatId,
				userA,
				userB,
				now,
			);
			this.sql.exec(
				"INSERT INTO partner_history (user_id, partner_id, at) VALUES (?1, ?2, ?3), (?2, ?1, ?3)",
				userA,
				userB,
				now,
			);
		});
		this.remember({ chatId, userA, userB, matchedAt: now, joined: false });
		for (const [user, partner] of [
			[userA, userB],
			[userB, userA],
		] as const) {
			const memory = this.users.get(user);
			if (!memory) continue;
			memory.partners.unshift({ partner, at: now });
			memory.partners.length = Math.min(memory.partners.length, RECENT_PARTNERS.count);
		}
	}

	markJoined(chatId: string): void {
		const chat = this.chats.get(chatId);
		if (!chat || chat.joined) return;
		chat.joined = true;
		this.unjoined.delete(chatId);
		this.sql.exec("UPDATE chats SET joined = 1 WHERE chat_id = ?", chatId);
	}

	/**
	 * Ends a chat: no longer live, and its users' last chat for a few minutes
	 * (reports after the end). Recorded whatever this store remembers of it,
	 * since a chat dropped as unjoined may still have been joined late. One
	 * row either way. Returns the live chat, or null if it was not live.
	 */
	endChat(chatId: string, users: readonly [string, string], now: number, reportedBy?: string): LiveChat | null {
		const chat = this.chats.get(chatId) ?? null;
		if (chat) this.forgetChat(chat);
		const [userA, userB] = users;
		const reporters = reportedBy ? [reportedBy] : [];
		this.sql.exec(
			`INSERT INTO chats (chat_id, user_a, user_b, matched_at, joined, ended_at, reported_by)
			VALUES (?1, ?2, ?3, ?4, 1, ?4, ?5)
			ON CONFLICT (chat_id) DO UPDATE SET ended_at = ?4, reported_by = ?5`,
			chatId,
			userA,
			userB,
			now,
			reporters.join(","),
		);
		this.rememberEnded({ chatId, userA, userB, endedAt: now, reportedBy: reporters });
		return chat;
	}

	/** The live chat with this id, if any. */
	liveChat(chatId: string): LiveChat | null {
		return this.chats.get(chatId) ?? null;
	}

	/** The user's last chat, if it ended at most `withinMs` ago. */
	lastEndedChat(user: string, now: number, withinMs: number): EndedChat | null {
		const chat = this.lastEnded.get(user);
		return chat && now - chat.endedAt <= withinMs ? chat : null;
	}

	/** Notes that `reporter` reported the other user of an ended chat. */
	markReported(chat: EndedChat, reporter: string): void {
		if (chat.reportedBy.includes(reporter)) return;
		chat.reportedBy.push(reporter);
		this.sql.exec("UPDATE chats SET reported_by = ? WHERE chat_id = ?", chat.reportedBy.join(","), chat.chatId);
	}

	/** A report: the pair never meets again, and it counts toward flagging the reported user. No content. */
	recordReport(reporter: string, reported: string, reason: string, now: number): void {
		this.sql.exec(
			"INSERT OR REPLACE INTO reported (user_id, other_id, at) VALUES (?1, ?2, ?3), (?2, ?1, ?3)",
			reporter,
			reported,
			now,
		);
		this.sql.exec(
			"INSERT INTO reports (reporter, reported, reason, at) VALUES (?, ?, ?, ?)",
			reporter,
			reported,
			reason,
			now,
		);
		this.reports24h++;
		const reporterMemory = this.users.get(reporter);
		if (reporterMemory) remember(reporterMemory, reported, now);
		const memory = this.users.get(reported);
		if (memory) {
			remember(memory, reporter, now);
			memory.notFlagged = false;
		}
	}

	/** Reported by FLAG_REPORTERS different people within the last day. */
	flagged(user: string, now: number): boolean {
		const loadedNow = !this.users.has(user);
		const memory = this.memoryOf(user, now);
		if (memory.notFlagged) return false;
		// Just loaded: its statement counted the reporters as of now.
		if (loadedNow) return true;
		const { n } = this.sql
			.exec<{ n: number }>(
				"SELECT COUNT(DISTINCT reporter) AS n FROM reports WHERE reported = ? AND at > ?",
				user,
				now - FLAG_WINDOW_MS,
			)
			.one();
		// Not flagged now means not flagged until someone reports them again.
		memory.notFlagged = n < FLAG_REPORTERS;
		return n >= FLAG_REPORTERS;
	}

	/**
	 * Rule 4 and the safety rules: each other's last partner (24 hours), one
	 * of either's last three partners within five minutes, or a reported
	 * pair (30 days).
	 */
	blocked(a: string, b: string, now: number): boolean {
		const ma = this.memoryOf(a, now);
		const mb = this.memoryOf(b, now);
		return (
			metRecently(ma, b, now) ||
			metRecently(mb, a, now) ||
			(ma.reported?.get(b) ?? Number.NEGATIVE_INFINITY) > now - REPORT_TTL_MS
		);
	}

	/**
	 * A user id minted just now has met and reported no one: its rules start
	 * empty in memory, so its first join reads nothing from storage.
	 */
	rememberNewUser(user: string, now: number): void {
		if (!this.users.has(user)) this.users.set(user, { partners: [], reported: null, notFlagged: true, usedAt: now });
	}

	/** A user's rules, from memory or, the first time after a wake, from storage. */
	private memoryOf(user: string, now: number): UserMemory {
		let memory = this.users.get(user);
		if (!memory) {
			// One statement: on this stack each one costs more than the rows it reads.
			const partners: UserMemory["partners"] = [];
			let reported: Map<string, number> | null = null;
			let reporters = 0;
			const seqs = new Map<UserMemory["partners"][number], number>();
			for (const row of this.sql.exec<{ kind: string; other: string | null; at: number; seq: number }>(
				`SELECT 'p' AS kind, partner_id AS other, at, seq FROM (
					SELECT partner_id, at, rowid AS seq FROM partner_history WHERE user_id = ?1
					ORDER BY at DESC, rowid DESC LIMIT ?2)
				UNION ALL SELECT 'r', other_id, at, 0 FROM reported WHERE user_id = ?1
				UNION ALL SELECT 'f', NULL, COUNT(DISTINCT reporter), 0 FROM reports WHERE reported = ?1 AND at > ?3`,
				user,
				RECENT_PARTNERS.count,
				now - FLAG_WINDOW_MS,
			)) {
				if (row.kind === "p" && row.other !== null) {
					const p = { partner: row.other, at: row.at };
					seqs.set(p, row.seq);
					partners.push(p);
				} else if (row.kind === "r" && row.other !== null) {
					reported ??= new Map();
					reported.set(row.other, row.at);
				} else if (row.kind === "f") reporters = row.at;
			}
			// Newest first; matches within one millisecond in the order they were made.
			partners.sort((x, y) => y.at - x.at || (seqs.get(y) ?? 0) - (seqs.get(x) ?? 0));
			memory = { partners, reported, notFlagged: reporters < FLAG_REPORTERS, usedAt: now };
			this.users.set(user, memory);
		}
		memory.usedAt = now;
		return memory;
	}

	recordChallenge(now: number): void {
		this.sql.exec("INSERT INTO challenges (at) VALUES (?)", now);
		this.challenges24h++;
	}

	/** Counters for /api/stats: reports and challenges of the last 24 hours (as of the last sweep), O(1). */
	safetyCounts(): { reports_24h: number; challenges_24h: number } {
		return { reports_24h: this.reports24h, challenges_24h: this.challenges24h };
	}

	/** Chats nobody joined, matched at or before `cutoff`; removed and returned. */
	takeUnjoinedBefore(cutoff: number): LiveChat[] {
		const taken: LiveChat[] = [];
		for (const chat of this.unjoined.values()) {
			if (chat.matchedAt > cutoff) break;
			taken.push(chat);
		}
		for (const chat of taken) {
			this.forgetChat(chat);
			this.sql.exec("DELETE FROM chats WHERE chat_id = ?", chat.chatId);
		}
		return taken;
	}

	oldestUnjoined(): number | null {
		for (const chat of this.unjoined.values()) return chat.matchedAt;
		return null;
	}

	/** Drops what has aged out: partners, reports, challenges, and rules of users not seen for a while. */
	forgetExpired(now: number): void {
		this.sql.exec("DELETE FROM partner_history WHERE at < ?", now - LAST_PARTNER_TTL_MS);
		this.sql.exec("DELETE FROM reported WHERE at < ?", now - REPORT_TTL_MS);
		// The deleted rows are exactly the ones leaving the 24-hour counters
		// (counted by RETURNING: rowsWritten would count index rows too).
		const gone = (query: string, cutoff: number) => this.sql.exec(`${query} RETURNING 1`, cutoff).toArray().length;
		this.reports24h -= gone("DELETE FROM reports WHERE at <= ?", now - FLAG_WINDOW_MS);
		this.challenges24h -= gone("DELETE FROM challenges WHERE at <= ?", now - 24 * 60 * 60 * 1000);
		this.sql.exec("DELETE FROM chats WHERE ended_at <= ?", now - REPORT_AFTER_END_MS);
		for (const [user, chat] of this.lastEnded) {
			if (chat.endedAt <= now - REPORT_AFTER_END_MS) this.lastEnded.delete(user);
		}
		for (const [user, memory] of this.users) {
			if (memory.usedAt < now - USER_MEMORY_IDLE_MS) this.users.delete(user);
		}
	}
}

/** Notes a report between this user and `other`. */
function remember(memory: UserMemory, other: string, at: number): void {
	if (!memory.reported) memory.reported = new Map();
	memory.reported.set(other, at);
}

/** `other` was this user's last partner (within a day) or one of the last three within five minutes. */
function metRecently(memory: UserMemory, other: string, now: number): boolean {
	return memory.partners.some(
		(p, i) =>
			p.partner === other && (p.at > now - RECENT_PARTNERS.ttlMs || (i === 0 && p.at > now - LAST_PARTNER_TTL_MS)),
	);
}
