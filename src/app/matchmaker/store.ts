// The Matchmaker's durable memory, in its SQLite storage: live chats (who is
// in which chat, for `in_chat`, `ready.chat` and presence), who met whom
// (rule 4), reports. Everything else it knows is rebuilt from its sockets'
// attachments after hibernation.
//
// Every join reads these rules and every match writes them, so reads go to
// in-memory copies: the live chats are loaded once per wake (there are at
// most as many as users online), each user's partners, reports and flag
// are loaded the first time that user is seen after a wake and kept while
// they are active.
//
// Rows written are the bill (ARCHITECTURE.md, "Storage rows are the bill"),
// so every write goes through the object's RowMeter and writes only what the
// rules need: a match writes three rows (its chat, each user's one partner
// row), one commit; the chat's first join and its end one row each; the
// sweep deletes the chat 5 minutes after its end and each user's partner row
// once it is a day old (one row per user, not per match); a write that would
// change nothing is not issued.

import { DAY_MS, REPORT_AFTER_END_MS } from "../../protocol/schemas";
import { RowMeter } from "../row-meter";

/** How long "we just talked" keeps two people apart when neither chats with anyone else. */
export const LAST_PARTNER_TTL_MS = DAY_MS;
/**
 * Each user's last few partners are kept away from them for a while, not
 * just the last one. A `recent_partners` row has exactly this many slots.
 */
export const RECENT_PARTNERS = { count: 3, ttlMs: 5 * 60 * 1000 } as const;
/** A reported pair never meets again for this long; reports count toward flagging for a day. */
export const REPORT_TTL_MS = 30 * DAY_MS;
export const FLAG_WINDOW_MS = DAY_MS;
/** Reported by this many different people within FLAG_WINDOW_MS: matched only with others in the same state. */
export const FLAG_REPORTERS = 3;
/** A user's rules stay in memory this long after they were last needed. */
const USER_MEMORY_IDLE_MS = 10 * 60 * 1000;

/**
 * How the sweep finds `recent_partners` rows older than a day without an
 * index on their time (which would cost two more rows written per user per
 * match, the old entry and the new): it walks the primary key in slices,
 * one slice per sweep, and deletes the old rows of that slice. Rows read
 * cost a thousandth of rows written, and a slice bounds them per sweep. The
 * slice is sized after each pass so that a pass over the table takes about
 * `passMs`: a row is forgotten at most that long after its day is over.
 */
const PARTNER_SWEEP = { minSlice: 1_000, maxSlice: 20_000, passMs: 60 * 60 * 1000 } as const;

/** The tables, one statement each (the meter counts a statement at a time). */
const SCHEMA = [
	`CREATE TABLE IF NOT EXISTS chats (
		chat_id TEXT PRIMARY KEY,
		user_a TEXT NOT NULL,
		user_b TEXT NOT NULL,
		matched_at INTEGER NOT NULL,
		joined INTEGER NOT NULL DEFAULT 0
	) WITHOUT ROWID`,
	"DROP INDEX IF EXISTS chats_user_a",
	"DROP INDEX IF EXISTS chats_user_b",
	"DROP INDEX IF EXISTS chats_unjoined",
	// One row per user, newest partner first: a match rewrites both users'
	// rows (one row written each, no index), and a wake reads a user's rules
	// with one primary-key lookup. Slot 1 is the last partner (kept away a
	// day), slots 1 to 3 the last three (kept away 5 minutes); a row goes
	// when its newest slot is a day old.
	`CREATE TABLE IF NOT EXISTS recent_partners (
		user_id TEXT PRIMARY KEY,
		p1 TEXT NOT NULL,
		at1 INTEGER NOT NULL,
		p2 TEXT,
		at2 INTEGER,
		p3 TEXT,
		at3 INTEGER
	) WITHOUT ROWID`,
	`CREATE TABLE IF NOT EXISTS reported (
		user_id TEXT NOT NULL,
		other_id TEXT NOT NULL,
		at INTEGER NOT NULL,
		PRIMARY KEY (user_id, other_id)
	) WITHOUT ROWID`,
	"CREATE INDEX IF NOT EXISTS reported_at ON reported(at)",
	`CREATE TABLE IF NOT EXISTS reports (
		reporter TEXT NOT NULL,
		reported TEXT NOT NULL,
		reason TEXT NOT NULL,
		at INTEGER NOT NULL
	)`,
	"CREATE INDEX IF NOT EXISTS reports_reported ON reports(reported, at)",
	"CREATE INDEX IF NOT EXISTS reports_at ON reports(at)",
	"CREATE TABLE IF NOT EXISTS challenges (at INTEGER NOT NULL)",
	"CREATE INDEX IF NOT EXISTS challenges_at ON challenges(at)",
] as const;

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

export class MatchmakerStore {
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
	/** Where the sweep of `recent_partners` stands (PARTNER_SWEEP). */
	private readonly partnerSweep: {
		after: string;
		slice: number;
		minSlice: number;
		startedAt: number | null;
		sweeps: number;
		rows: number;
	};

	/**
	 * `meter` counts every row this store writes (the Matchmaker shares it
	 * for its alarms); `sweepSlice` is the smallest slice of the partner
	 * sweep (tests make it small).
	 */
	constructor(
		private readonly storage: DurableObjectStorage,
		readonly meter: RowMeter = new RowMeter(storage.sql),
		sweepSlice: number = PARTNER_SWEEP.minSlice,
	) {
		const sql = storage.sql;
		this.sql = sql;
		this.partnerSweep = { after: "", slice: sweepSlice, minSlice: sweepSlice, startedAt: null, sweeps: 0, rows: 0 };
		for (const statement of SCHEMA) meter.exec(statement);
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
				this.track({
					chatId: row.chat_id,
					userA: row.user_a,
					userB: row.user_b,
					matchedAt: row.matched_at,
					joined: row.joined === 1,
				});
				continue;
			}
			this.trackEnded({
				chatId: row.chat_id,
				userA: row.user_a,
				userB: row.user_b,
				endedAt: row.ended_at,
				reportedBy: row.reported_by === "" ? [] : row.reported_by.split(","),
			});
		}
		const since = Date.now() - DAY_MS;
		this.reports24h = sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM reports WHERE at > ?", since).one().n;
		this.challenges24h = sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM challenges WHERE at > ?", since).one().n;
	}

	/**
	 * Tables of older schemas, folded into the current ones once: the first
	 * schema (one row per pair, a separate last-partner table), then
	 * `partner_history` (a row per user and match, with two indexes: seven rows
	 * written per match where `recent_partners` needs two).
	 */
	private migrate(): void {
		const write = (query: string) => this.meter.exec(query);
		// Ended chats stay a few minutes, for reports after the end (PROTOCOL.md 1.1).
		const columns = new Set(
			this.sql
				.exec<{ name: string }>("SELECT name FROM pragma_table_info('chats')")
				.toArray()
				.map((c) => c.name),
		);
		if (!columns.has("ended_at")) write("ALTER TABLE chats ADD COLUMN ended_at INTEGER");
		if (!columns.has("reported_by")) write("ALTER TABLE chats ADD COLUMN reported_by TEXT NOT NULL DEFAULT ''");
		const old = new Set(
			this.sql
				.exec<{ name: string }>(
					"SELECT name FROM sqlite_master WHERE type = 'table' AND name IN ('last_partner', 'partners', 'reported_pairs', 'partner_history')",
				)
				.toArray()
				.map((r) => r.name),
		);
		if (old.size === 0) return;
		this.storage.transactionSync(() => {
			if (old.has("partners") || old.has("last_partner")) {
				// Through the second schema, whose conversion below keeps each user's newest three.
				write(`CREATE TABLE IF NOT EXISTS partner_history (
					user_id TEXT NOT NULL,
					partner_id TEXT NOT NULL,
					at INTEGER NOT NULL
				)`);
				write("CREATE INDEX IF NOT EXISTS partner_history_user ON partner_history(user_id, at)");
				old.add("partner_history");
			}
			if (old.has("partners")) {
				write(
					"INSERT INTO partner_history (user_id, partner_id, at) SELECT user_id, partner_id, at FROM partners ORDER BY rowid",
				);
				write("DROP TABLE partners");
			}
			if (old.has("last_partner")) {
				// Each last partner is also among `partners` if it is under 5 minutes old; older ones are added.
				write(`INSERT INTO partner_history (user_id, partner_id, at)
					SELECT user_id, partner_id, at FROM last_partner l WHERE NOT EXISTS
					(SELECT 1 FROM partner_history h WHERE h.user_id = l.user_id AND h.partner_id = l.partner_id AND h.at = l.at)`);
				write("DROP TABLE last_partner");
			}
			if (old.has("partner_history")) {
				// Each user's three newest, newest first; matches within one
				// millisecond in the order they were made (rowid).
				write(`INSERT OR IGNORE INTO recent_partners (user_id, p1, at1, p2, at2, p3, at3)
					SELECT user_id,
						MAX(CASE n WHEN 1 THEN partner_id END), MAX(CASE n WHEN 1 THEN at END),
						MAX(CASE n WHEN 2 THEN partner_id END), MAX(CASE n WHEN 2 THEN at END),
						MAX(CASE n WHEN 3 THEN partner_id END), MAX(CASE n WHEN 3 THEN at END)
					FROM (SELECT user_id, partner_id, at,
						ROW_NUMBER() OVER (PARTITION BY user_id ORDER BY at DESC, rowid DESC) AS n
						FROM partner_history)
					WHERE n <= 3
					GROUP BY user_id`);
				// Its indexes go with it.
				write("DROP TABLE partner_history");
			}
			if (old.has("reported_pairs")) {
				// pair = "a:b" of two 16-hex-digit user ids.
				write(`INSERT OR IGNORE INTO reported (user_id, other_id, at)
					SELECT substr(pair, 1, 16), substr(pair, 18), at FROM reported_pairs
					UNION ALL SELECT substr(pair, 18), substr(pair, 1, 16), at FROM reported_pairs`);
				write("DROP TABLE reported_pairs");
			}
		});
	}

	/** Adds a live chat to the in-memory indexes. */
	private track(chat: LiveChat): void {
		this.chats.set(chat.chatId, chat);
		this.chatByUser.set(chat.userA, chat);
		this.chatByUser.set(chat.userB, chat);
		if (!chat.joined) this.unjoined.set(chat.chatId, chat);
	}

	/** Takes a live chat out of the in-memory indexes. */
	private untrack(chat: LiveChat): void {
		this.chats.delete(chat.chatId);
		this.unjoined.delete(chat.chatId);
		for (const user of [chat.userA, chat.userB]) {
			if (this.chatByUser.get(user) === chat) this.chatByUser.delete(user);
		}
	}

	/** Keeps an ended chat as its users' last one (the newer wins), while it can be reported. */
	private trackEnded(chat: EndedChat): void {
		for (const user of [chat.userA, chat.userB]) {
			const known = this.lastEnded.get(user);
			if (!known || known.endedAt <= chat.endedAt) this.lastEnded.set(user, chat);
		}
	}

	/** How many chats are live: what presence counts as chatting and `/api/stats` as `active_chats`. */
	liveChatCount(): number {
		return this.chats.size;
	}

	chatOf(userId: string): LiveChat | null {
		return this.chatByUser.get(userId) ?? null;
	}

	/**
	 * The one write a match costs, three rows: the live chat, and each user's
	 * partner row (inserted, or its slots shifted by one).
	 */
	recordMatch(chatId: string, userA: string, userB: string, now: number): void {
		this.storage.transactionSync(() => {
			this.meter.exec(
				"INSERT INTO chats (chat_id, user_a, user_b, matched_at) VALUES (?, ?, ?, ?)",
				chatId,
				userA,
				userB,
				now,
			);
			// The right-hand sides read the row as it was, so the slots move down by one.
			this.meter.exec(
				`INSERT INTO recent_partners (user_id, p1, at1) VALUES (?1, ?2, ?3), (?2, ?1, ?3)
				ON CONFLICT (user_id) DO UPDATE SET
					p3 = p2, at3 = at2, p2 = p1, at2 = at1, p1 = excluded.p1, at1 = excluded.at1`,
				userA,
				userB,
				now,
			);
		});
		this.track({ chatId, userA, userB, matchedAt: now, joined: false });
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

	/** The chat's first join: one row; nothing for a chat already joined (a repeated `chatJoined`). */
	markJoined(chatId: string): void {
		const chat = this.chats.get(chatId);
		if (!chat || chat.joined) return;
		chat.joined = true;
		this.unjoined.delete(chatId);
		this.meter.exec("UPDATE chats SET joined = 1 WHERE chat_id = ? AND joined = 0", chatId);
	}

	/**
	 * Ends a chat: no longer live, and its users' last chat for a few minutes
	 * (reports after the end). Recorded whatever this store knows of it,
	 * since a chat dropped as unjoined may still have been joined late. One
	 * row either way; none for a notice repeated about a chat already ended
	 * (but its reporter, if new, is noted). Returns the live chat, or null if
	 * it was not live.
	 */
	endChat(chatId: string, users: readonly [string, string], now: number, reportedBy?: string): LiveChat | null {
		const chat = this.chats.get(chatId) ?? null;
		const [userA, userB] = users;
		if (!chat) {
			const ended = [userA, userB].map((u) => this.lastEnded.get(u)).find((e) => e?.chatId === chatId);
			if (ended) {
				if (reportedBy) this.markReported(ended, reportedBy);
				return null;
			}
		}
		if (chat) this.untrack(chat);
		const reporters = reportedBy ? [reportedBy] : [];
		this.meter.exec(
			`INSERT INTO chats (chat_id, user_a, user_b, matched_at, joined, ended_at, reported_by)
			VALUES (?1, ?2, ?3, ?4, 1, ?4, ?5)
			ON CONFLICT (chat_id) DO UPDATE SET ended_at = ?4, reported_by = ?5`,
			chatId,
			userA,
			userB,
			now,
			reporters.join(","),
		);
		this.trackEnded({ chatId, userA, userB, endedAt: now, reportedBy: reporters });
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
		this.meter.exec("UPDATE chats SET reported_by = ? WHERE chat_id = ?", chat.reportedBy.join(","), chat.chatId);
	}

	/** A report: the pair never meets again, and it counts toward flagging the reported user. No content. */
	recordReport(reporter: string, reported: string, reason: string, now: number): void {
		this.meter.exec(
			"INSERT OR REPLACE INTO reported (user_id, other_id, at) VALUES (?1, ?2, ?3), (?2, ?1, ?3)",
			reporter,
			reported,
			now,
		);
		this.meter.exec(
			"INSERT INTO reports (reporter, reported, reason, at) VALUES (?, ?, ?, ?)",
			reporter,
			reported,
			reason,
			now,
		);
		this.reports24h++;
		const reporterMemory = this.users.get(reporter);
		if (reporterMemory) noteReport(reporterMemory, reported, now);
		const memory = this.users.get(reported);
		if (memory) {
			noteReport(memory, reporter, now);
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
			let partners: UserMemory["partners"] = [];
			let reported: Map<string, number> | null = null;
			let reporters = 0;
			for (const row of this.sql.exec<{
				kind: string;
				other: string | null;
				at: number;
				p2: string | null;
				at2: number | null;
				p3: string | null;
				at3: number | null;
			}>(
				`SELECT 'p' AS kind, p1 AS other, at1 AS at, p2, at2, p3, at3 FROM recent_partners WHERE user_id = ?1
				UNION ALL SELECT 'r', other_id, at, NULL, NULL, NULL, NULL FROM reported WHERE user_id = ?1
				UNION ALL SELECT 'f', NULL, COUNT(DISTINCT reporter), NULL, NULL, NULL, NULL FROM reports
					WHERE reported = ?1 AND at > ?2`,
				user,
				now - FLAG_WINDOW_MS,
			)) {
				if (row.kind === "p" && row.other !== null) {
					// Newest first; matches within one millisecond in the order they were made.
					partners = [
						{ partner: row.other, at: row.at },
						...(row.p2 !== null && row.at2 !== null ? [{ partner: row.p2, at: row.at2 }] : []),
						...(row.p3 !== null && row.at3 !== null ? [{ partner: row.p3, at: row.at3 }] : []),
					];
				} else if (row.kind === "r" && row.other !== null) {
					reported ??= new Map();
					reported.set(row.other, row.at);
				} else if (row.kind === "f") reporters = row.at;
			}
			memory = { partners, reported, notFlagged: reporters < FLAG_REPORTERS, usedAt: now };
			this.users.set(user, memory);
		}
		memory.usedAt = now;
		return memory;
	}

	recordChallenge(now: number): void {
		this.meter.exec("INSERT INTO challenges (at) VALUES (?)", now);
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
			this.untrack(chat);
			this.meter.exec("DELETE FROM chats WHERE chat_id = ?", chat.chatId);
		}
		return taken;
	}

	oldestUnjoined(): number | null {
		for (const chat of this.unjoined.values()) return chat.matchedAt;
		return null;
	}

	/** Drops what has aged out: partners, reports, challenges, and rules of users not seen for a while. */
	forgetExpired(now: number): void {
		this.forgetOldPartners(now);
		this.meter.exec("DELETE FROM reported WHERE at < ?", now - REPORT_TTL_MS);
		// The deleted rows are exactly the ones leaving the 24-hour counters
		// (counted by RETURNING: rowsWritten would count index rows too).
		const gone = (query: string, cutoff: number) => this.meter.exec(`${query} RETURNING 1`, cutoff).length;
		this.reports24h -= gone("DELETE FROM reports WHERE at <= ?", now - FLAG_WINDOW_MS);
		this.challenges24h -= gone("DELETE FROM challenges WHERE at <= ?", now - DAY_MS);
		// A scan of `chats` without an index on `ended_at`: the table holds only
		// the live chats and those of the last 5 minutes (at most one row per two
		// users online, and then some), read at a thousandth of a row written.
		this.meter.exec("DELETE FROM chats WHERE ended_at <= ?", now - REPORT_AFTER_END_MS);
		for (const [user, chat] of this.lastEnded) {
			if (chat.endedAt <= now - REPORT_AFTER_END_MS) this.lastEnded.delete(user);
		}
		for (const [user, memory] of this.users) {
			if (memory.usedAt < now - USER_MEMORY_IDLE_MS) this.users.delete(user);
		}
	}

	/**
	 * One slice of the pass over `recent_partners` (PARTNER_SWEEP): deletes
	 * the rows of the slice whose newest partner is more than a day old.
	 */
	private forgetOldPartners(now: number): void {
		const sweep = this.partnerSweep;
		sweep.startedAt ??= now;
		const { last, n } = this.sql
			.exec<{ last: string | null; n: number }>(
				`SELECT MAX(user_id) AS last, COUNT(*) AS n FROM
				(SELECT user_id FROM recent_partners WHERE user_id > ? ORDER BY user_id LIMIT ?)`,
				sweep.after,
				sweep.slice,
			)
			.one();
		if (last !== null) {
			this.meter.exec(
				"DELETE FROM recent_partners WHERE user_id > ? AND user_id <= ? AND at1 < ?",
				sweep.after,
				last,
				now - LAST_PARTNER_TTL_MS,
			);
		}
		sweep.rows += n;
		sweep.sweeps++;
		if (last !== null && n === sweep.slice) {
			sweep.after = last;
			return;
		}
		// The end of the table: the next pass starts over, in slices that make it last about passMs.
		const perSweep = (now - sweep.startedAt) / sweep.sweeps;
		const wanted = perSweep > 0 ? Math.ceil((sweep.rows * perSweep) / PARTNER_SWEEP.passMs) : 0;
		sweep.slice = Math.min(Math.max(sweep.minSlice, wanted), Math.max(sweep.minSlice, PARTNER_SWEEP.maxSlice));
		sweep.after = "";
		sweep.startedAt = null;
		sweep.sweeps = 0;
		sweep.rows = 0;
	}
}

/** Notes a report between this user and `other`. */
function noteReport(memory: UserMemory, other: string, at: number): void {
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
