// The Matchmaker's store keeps its rules in memory and writes them through:
// a fresh store on the same SQLite (what a wake sees) must know the same
// things, and the first schema's tables must be folded into the new ones.
import { runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import {
	FLAG_REPORTERS,
	FLAG_WINDOW_MS,
	LAST_PARTNER_TTL_MS,
	LobbyStore,
	RECENT_PARTNERS,
} from "../../src/lobby/store";
import { lobbyName, lobbyStub } from "./helpers";

const user = (n: number) => n.toString(16).padStart(16, "0");
const chat = (n: number) => n.toString(16).padStart(32, "0");

describe("lobby store", () => {
	it("a fresh store on the same storage knows the chats, partners and reports", async () => {
		await runInDurableObject(lobbyStub(lobbyName()), (_lobby, state) => {
			const now = 1_000_000_000_000;
			const first = new LobbyStore(state.storage);
			first.recordMatch(chat(1), user(1), user(2), now);
			first.recordMatch(chat(2), user(3), user(4), now + 10);
			first.markJoined(chat(2));
			first.recordReport(user(5), user(6), "spam", now);

			const woken = new LobbyStore(state.storage);
			expect(woken.countChats()).toBe(2);
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
			expect(new LobbyStore(state.storage).countChats()).toBe(1);
		});
	});

	it("keeps each user's partners in order, also within one millisecond and across a wake", async () => {
		await runInDurableObject(lobbyStub(lobbyName()), (_lobby, state) => {
			const now = 1_000_000_000_000;
			const store = new LobbyStore(state.storage);
			// In one millisecond, user 1 meets 2, 3, 4, 5 in that order, then each of them meets someone else.
			for (const n of [2, 3, 4, 5]) {
				store.recordMatch(chat(n), user(1), user(n), now);
				store.endChat(chat(n), [user(1), user(n)], now);
				store.recordMatch(chat(n + 10), user(n), user(n + 10), now);
				store.endChat(chat(n + 10), [user(n), user(n + 10)], now);
			}
			// Past the 5 minutes, only user 1's last partner, 5, is still kept away.
			const later = now + RECENT_PARTNERS.ttlMs + 1;
			for (const s of [store, new LobbyStore(state.storage)]) {
				expect(s.blocked(user(1), user(5), later)).toBe(true);
				expect(s.blocked(user(1), user(4), later)).toBe(false);
				expect(s.blocked(user(1), user(2), later)).toBe(false);
			}
		});
	});

	it("flags a user reported by enough people, in memory and after a wake, until the reports age out", async () => {
		await runInDurableObject(lobbyStub(lobbyName()), (_lobby, state) => {
			const now = 1_000_000_000_000;
			const store = new LobbyStore(state.storage);
			const target = user(100);
			for (let n = 1; n < FLAG_REPORTERS; n++) store.recordReport(user(n), target, "spam", now);
			expect(store.flagged(target, now)).toBe(false);
			expect(new LobbyStore(state.storage).flagged(target, now)).toBe(false);
			store.recordReport(user(FLAG_REPORTERS), target, "spam", now);
			expect(store.flagged(target, now + 1)).toBe(true);
			// A wake reads the flag with the user's other rules.
			expect(new LobbyStore(state.storage).flagged(target, now + 1)).toBe(true);
			// A day later the reports no longer count, whether in memory or freshly read.
			const later = now + FLAG_WINDOW_MS + 1;
			expect(store.flagged(target, later)).toBe(false);
			expect(new LobbyStore(state.storage).flagged(target, later)).toBe(false);
			// A user id never reported is not flagged.
			expect(new LobbyStore(state.storage).flagged(user(101), now)).toBe(false);
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

			const store = new LobbyStore(state.storage);
			const tables = sql
				.exec<{ name: string }>("SELECT name FROM sqlite_master WHERE type = 'table'")
				.toArray()
				.map((r) => r.name);
			expect(tables).not.toContain("last_partner");
			expect(tables).not.toContain("partners");
			expect(tables).not.toContain("reported_pairs");
			expect(store.blocked(user(2), user(1), now)).toBe(true);
			expect(store.blocked(user(4), user(3), now)).toBe(true);
			expect(store.blocked(user(6), user(5), now)).toBe(true);
			expect(store.blocked(user(1), user(3), now)).toBe(false);
			expect(sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM partner_history").one().n).toBe(3);
		});
	});
});
