// The Matchmaker's store keeps its rules in memory and writes them through:
// a fresh store on the same SQLite (what a wake sees) must know the same
// things, and the first schema's tables must be folded into the new ones.
import { runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import {
	FLAG_REPORTERS,
	FLAG_WINDOW_MS,
	LAST_PARTNER_TTL_MS,
	MatchmakerStore,
	RECENT_PARTNERS,
} from "../../src/app/matchmaker/store";
import { lobbyName, lobbyStub } from "./helpers";

const user = (n: number) => n.toString(16).padStart(16, "0");
const chat = (n: number) => n.toString(16).padStart(32, "0");

describe("lobby store", () => {
	it("a fresh store on the same storage knows the chats, partners and reports", async () => {
		await runInDurableObject(lobbyStub(lobbyName()), (_lobby, state) => {
			const now = 1_000_000_000_000;
			const first = new MatchmakerStore(state.storage);
			first.recordMatch(chat(1), user(1), user(2), now);
			first.recordMatch(chat(2), user(3), user(4), now + 10);
			first.markJoined(chat(2));
			first.recordReport(user(5), user(6), "spam", now);

			const woken = new MatchmakerStore(state.storage);
			expect(woken.liveChatCount()).toBe(2);
			expect(woken.chatOf(user(2))).toMatchObject({ chatId: chat(1), joined: false });
			expect(woken.chatOf(user(4))).toMatchObject({ chatId: chat(2), joined: true });
			expect(woken.oldestUnjoined()).toBe(now);
			// Last partners: apart within 24 h, together after.
			expect(woken.blocked(user(2), user(1), now + 1)).toBe(true);
			expect(woken.blocked(user(1), user(2), now + LAST_PARTNER_TTL_MS + 1)).toBe(false);
			// Reported pairs, both ways.
			expect(woken.blocked(user(6), user(5), now + 1)).toBe(true);
			expect(woken.blocked(user(5), user(7), now + 1)).toBe(false);
			expect(woken.endChat(chat(1), [user(1), user(2)], now + 2)).toMatchObject({ userA: user(1), userB: user(2) });
			expect(woken.chatOf(user(1))).toBeNull();
			expect(new MatchmakerStore(state.storage).liveChatCount()).toBe(1);
		});
	});

	it("keeps each user's partners in order, also within one millisecond and across a wake", async () => {
		await runInDurableObject(lobbyStub(lobbyName()), (_lobby, state) => {
			const now = 1_000_000_000_000;
			const store = new MatchmakerStore(state.storage);
			// In one millisecond, user 1 meets 2, 3, 4, 5 in that order, then each of them meets someone else.
			for (const n of [2, 3, 4, 5]) {
				store.recordMatch(chat(n), user(1), user(n), now);
				store.endChat(chat(n), [user(1), user(n)], now);
				store.recordMatch(chat(n + 10), user(n), user(n + 10), now);
				store.endChat(chat(n + 10), [user(n), user(n + 10)], now);
			}
			// Past the 5 minutes, only user 1's last partner, 5, is still kept away.
			const later = now + RECENT_PARTNERS.ttlMs + 1;
			for (const s of [store, new MatchmakerStore(state.storage)]) {
				expect(s.blocked(user(1), user(5), later)).toBe(true);
				expect(s.blocked(user(1), user(4), later)).toBe(false);
				expect(s.blocked(user(1), user(2), later)).toBe(false);
			}
		});
	});

	it("flags a user reported by enough people, in memory and after a wake, until the reports age out", async () => {
		await runInDurableObject(lobbyStub(lobbyName()), (_lobby, state) => {
			const now = 1_000_000_000_000;
			const store = new MatchmakerStore(state.storage);
			const target = user(100);
			for (let n = 1; n < FLAG_REPORTERS; n++) store.recordReport(user(n), target, "spam", now);
			expect(store.flagged(target, now)).toBe(false);
			expect(new MatchmakerStore(state.storage).flagged(target, now)).toBe(false);
			store.recordReport(user(FLAG_REPORTERS), target, "spam", now);
			expect(store.flagged(target, now + 1)).toBe(true);
			// A wake reads the flag with the user's other rules.
			expect(new MatchmakerStore(state.storage).flagged(target, now + 1)).toBe(true);
			// A day later the reports no longer count, whether in memory or freshly read.
			const later = now + FLAG_WINDOW_MS + 1;
			expect(store.flagged(target, later)).toBe(false);
			expect(new MatchmakerStore(state.storage).flagged(target, later)).toBe(false);
			// A user id never reported is not flagged.
			expect(new MatchmakerStore(state.storage).flagged(user(101), now)).toBe(false);
		});
	});

	it("folds the first schema's tables into the new ones, once", async () => {
		await runInDurableObject(lobbyStub(lobbyName()), (_lobby, state) => {
			const sql = state.storage.sql;
			const now = Date.now();
			sql.exec(`
				CREATE TABLE last_partner (user_id TEXT PRIMARY KEY, partner_id TEXT NOT NULL, at INTEGER NOT NULL);
				CREATE TABLE partners (user_id TEXT NOT NULL, partner_id TEXT NOT NULL, at INTEGER NOT NULL);
				CREATE TABLE reported_pairs (pair TEXT PRIMARY KEY, at INTEGER NOT NULL);
			`);
			// An old last partner (an hour ago) and a recent one (also among partners).
			sql.exec("INSERT INTO last_partner VALUES (?, ?, ?)", user(1), user(2), now - 3_600_000);
			sql.exec("INSERT INTO last_partner VALUES (?, ?, ?)", user(3), user(4), now - 1000);
			sql.exec(
				"INSERT INTO partners VALUES (?, ?, ?), (?, ?, ?)",
				user(3),
				user(4),
				now - 1000,
				user(4),
				user(3),
				now - 1000,
			);
			sql.exec("INSERT INTO reported_pairs VALUES (?, ?)", `${user(5)}:${user(6)}`, now - 1000);

			const store = new MatchmakerStore(state.storage);
			const tables = sql
				.exec<{ name: string }>("SELECT name FROM sqlite_master WHERE type = 'table'")
				.toArray()
				.map((r) => r.name);
			expect(tables).not.toContain("last_partner");
			expect(tables).not.toContain("partners");
			expect(tables).not.toContain("reported_pairs");
			// Through the second schema's table, which is converted too.
			expect(tables).not.toContain("partner_history");
			expect(store.blocked(user(2), user(1), now)).toBe(true);
			expect(store.blocked(user(4), user(3), now)).toBe(true);
			expect(store.blocked(user(6), user(5), now)).toBe(true);
			expect(store.blocked(user(1), user(3), now)).toBe(false);
			// One row per user who met someone: users 1, 3 and 4.
			expect(sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM recent_partners").one().n).toBe(3);
		});
	});

	it("converts the second schema's partner_history (a row per match, two indexes) into one row per user, once", async () => {
		await runInDurableObject(lobbyStub(lobbyName()), (_lobby, state) => {
			const sql = state.storage.sql;
			const now = Date.now();
			sql.exec(`
				CREATE TABLE partner_history (user_id TEXT NOT NULL, partner_id TEXT NOT NULL, at INTEGER NOT NULL);
				CREATE INDEX partner_history_user ON partner_history(user_id, at);
				CREATE INDEX partner_history_at ON partner_history(at);
			`);
			const met = (a: number, b: number, at: number) =>
				sql.exec(
					"INSERT INTO partner_history (user_id, partner_id, at) VALUES (?1, ?2, ?3), (?2, ?1, ?3)",
					user(a),
					user(b),
					at,
				);
			// User 1 meets 2, 3, 4 and 5 within one millisecond, in that order; 6 met 7 two hours ago.
			for (const n of [2, 3, 4, 5]) met(1, n, now);
			met(6, 7, now - 2 * 60 * 60 * 1000);

			const store = new MatchmakerStore(state.storage);
			const names = sql
				.exec<{ name: string }>("SELECT name FROM sqlite_master WHERE name LIKE 'partner_history%'")
				.toArray();
			expect(names).toEqual([]);
			// Users 1 to 7, one row each; user 1's newest three, newest first.
			expect(sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM recent_partners").one().n).toBe(7);
			expect(
				sql
					.exec<{ p1: string; p2: string; p3: string }>(
						"SELECT p1, p2, p3 FROM recent_partners WHERE user_id = ?",
						user(1),
					)
					.one(),
			).toEqual({ p1: user(5), p2: user(4), p3: user(3) });
			// The rules as before: the last three within 5 minutes, the last one for a day (the order is in the row above).
			for (const s of [store, new MatchmakerStore(state.storage)]) {
				expect(s.blocked(user(1), user(3), now + 1)).toBe(true);
				expect(s.blocked(user(1), user(4), now + 1)).toBe(true);
				expect(s.blocked(user(6), user(7), now + LAST_PARTNER_TTL_MS)).toBe(false);
				expect(s.blocked(user(1), user(5), now + RECENT_PARTNERS.ttlMs + 1)).toBe(true);
				expect(s.blocked(user(7), user(6), now)).toBe(true);
			}
			// Once: a later wake has nothing to convert and writes nothing.
			expect(new MatchmakerStore(state.storage).meter.take()).toBe(0);
		});
	});

	it("a recent_partners row has one slot per partner kept away", async () => {
		await runInDurableObject(lobbyStub(lobbyName()), (_lobby, state) => {
			const columns = state.storage.sql
				.exec<{ name: string }>("SELECT name FROM pragma_table_info('recent_partners')")
				.toArray()
				.map((c) => c.name);
			const slots = Array.from({ length: RECENT_PARTNERS.count }, (_, i) => [`p${i + 1}`, `at${i + 1}`]).flat();
			expect(columns).toEqual(["user_id", ...slots]);
		});
	});
});
