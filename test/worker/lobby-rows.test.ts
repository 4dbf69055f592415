// Rows written are the Matchmaker's storage bill (ARCHITECTURE.md, "Storage
// rows are the bill"): these tests pin how many rows a match, its join, its
// end and their clean-up write, that a write which would change nothing is
// not issued, and that `setAlarm` (a row too) is called only when the
// earliest deadline moves earlier.
import { evictDurableObject, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { Matchmaker } from "../../src/app/matchmaker/matchmaker";
import { LAST_PARTNER_TTL_MS, MatchmakerStore } from "../../src/app/matchmaker/store";
import type { RowMeter } from "../../src/app/row-meter";
import { REPORT_AFTER_END_MS } from "../../src/protocol/schemas";
import { chattingPair, initUser, join, lobbyName, lobbyStub, openLobby } from "./helpers";

const user = (n: number) => n.toString(16).padStart(16, "0");
const chat = (n: number) => n.toString(16).padStart(32, "0");
const NOW = 1_000_000_000_000;

/** The Matchmaker's private parts these tests look at. */
type Inner = {
	meter: RowMeter;
	hub: { nextSweep: number };
	alarms: { pendingAt: number | null };
	alarm(): Promise<void>;
};
const inner = (lobby: Matchmaker) => lobby as unknown as Inner;

type AlarmEvent = { kind: "set"; at: number } | { kind: "run" } | { kind: "ran" };

/**
 * Records, on the live instance of the lobby `name`, each `setAlarm` it
 * calls and the start and end of each alarm run, in order.
 */
async function watchAlarms(name: string): Promise<AlarmEvent[]> {
	const events: AlarmEvent[] = [];
	await runInDurableObject(lobbyStub(name), (lobby: Matchmaker, state) => {
		const storage = state.storage as { setAlarm(at: number | Date): Promise<void> };
		const setAlarm = storage.setAlarm.bind(storage);
		storage.setAlarm = (at) => {
			events.push({ kind: "set", at: Number(at) });
			return setAlarm(at);
		};
		const own = inner(lobby);
		const alarm = own.alarm.bind(lobby);
		own.alarm = async () => {
			events.push({ kind: "run" });
			try {
				await alarm();
			} finally {
				events.push({ kind: "ran" });
			}
		};
	});
	return events;
}

/**
 * The rule, checked over recorded events: outside alarm runs, `setAlarm` is
 * called only when none is pending (none yet, or the last one has fired) or
 * with an earlier time than the pending one; each run calls it at most once.
 * Returns what broke the rule, and the calls in each run.
 */
function checkAlarms(events: AlarmEvent[]): { broken: string[]; inRuns: number[]; total: number } {
	const broken: string[] = [];
	const inRuns: number[] = [];
	let pending: number | null = null;
	let run: number | null = null;
	let total = 0;
	for (const [i, e] of events.entries()) {
		if (e.kind === "run") {
			pending = null;
			run = 0;
		} else if (e.kind === "ran") {
			if (run !== null) inRuns.push(run);
			run = null;
		} else {
			total++;
			if (run !== null && ++run > 1) broken.push(`event ${i}: a second setAlarm in one run`);
			if (run === null && pending !== null && e.at >= pending) {
				broken.push(`event ${i}: setAlarm(${e.at}) while ${pending} was pending`);
			}
			pending = e.at;
		}
	}
	return { broken, inRuns, total };
}

async function until(what: string, ok: () => boolean): Promise<void> {
	const deadline = Date.now() + 5_000;
	while (!ok()) {
		if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
		await new Promise((r) => setTimeout(r, 10));
	}
}

describe("rows a match costs the lobby store", () => {
	it("a match writes three rows, its first join one, its end one; repeated joins and end notices none", async () => {
		await runInDurableObject(lobbyStub(lobbyName()), (_lobby, state) => {
			const store = new MatchmakerStore(state.storage);
			const rows = store.meter;
			// The tables exist already (the Matchmaker made them): opening writes nothing.
			expect(rows.take()).toBe(0);

			store.recordMatch(chat(1), user(1), user(2), NOW);
			// The chat, and one partner row per user.
			expect(rows.take()).toBe(3);
			store.markJoined(chat(1));
			expect(rows.take()).toBe(1);
			store.markJoined(chat(1));
			expect(rows.take()).toBe(0);
			// Nor after a wake, which reads `joined` back.
			const woken = new MatchmakerStore(state.storage);
			expect(woken.meter.take()).toBe(0);
			woken.markJoined(chat(1));
			expect(woken.meter.take()).toBe(0);

			expect(store.endChat(chat(1), [user(1), user(2)], NOW + 10)).not.toBeNull();
			expect(rows.take()).toBe(1);
			// A notice repeated (a retry whose first answer was lost) changes nothing…
			expect(store.endChat(chat(1), [user(1), user(2)], NOW + 20)).toBeNull();
			expect(rows.take()).toBe(0);
			expect(store.lastEndedChat(user(1), NOW + 20, REPORT_AFTER_END_MS)?.endedAt).toBe(NOW + 10);
			// …unless it carries a reporter not noted yet.
			store.endChat(chat(1), [user(1), user(2)], NOW + 20, user(2));
			expect(rows.take()).toBe(1);
			expect(store.lastEndedChat(user(1), NOW + 20, REPORT_AFTER_END_MS)?.reportedBy).toEqual([user(2)]);

			// A user's next match rewrites that user's row: still three rows.
			store.recordMatch(chat(2), user(1), user(3), NOW + 30);
			expect(rows.take()).toBe(3);
			expect(store.blocked(user(1), user(2), NOW + 40)).toBe(true);
			expect(store.blocked(user(3), user(1), NOW + 40)).toBe(true);
			const row = state.storage.sql
				.exec<{ p1: string; p2: string | null; p3: string | null }>(
					"SELECT p1, p2, p3 FROM recent_partners WHERE user_id = ?",
					user(1),
				)
				.one();
			expect(row).toEqual({ p1: user(3), p2: user(2), p3: null });
		});
	});

	it("the sweep deletes a chat 5 minutes after its end and each user's partner row once, a day after its last match", async () => {
		await runInDurableObject(lobbyStub(lobbyName()), (_lobby, state) => {
			const store = new MatchmakerStore(state.storage);
			// User 1 meets 2, 3 and 4: three chats, four users.
			for (const n of [2, 3, 4]) {
				store.recordMatch(chat(n), user(1), user(n), NOW + n);
				store.markJoined(chat(n));
				store.endChat(chat(n), [user(1), user(n)], NOW + n);
			}
			// 3 × (3 + 1 + 1)
			expect(store.meter.take()).toBe(15);
			store.forgetExpired(NOW + 4 + REPORT_AFTER_END_MS);
			expect(store.meter.take()).toBe(3);
			store.forgetExpired(NOW + 10 * 60 * 1000);
			expect(store.meter.take()).toBe(0);
			// A day later: four rows, one per user (six partners were noted).
			store.forgetExpired(NOW + 5 + LAST_PARTNER_TTL_MS);
			expect(store.meter.take()).toBe(4);
			expect(state.storage.sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM recent_partners").one().n).toBe(0);
			store.forgetExpired(NOW + 6 + LAST_PARTNER_TTL_MS);
			expect(store.meter.take()).toBe(0);
		});
	});

	it("the partner sweep takes one bounded slice of the table per run and still forgets every old row", async () => {
		await runInDurableObject(lobbyStub(lobbyName()), (_lobby, state) => {
			const store = new MatchmakerStore(state.storage, undefined, 2);
			// Users 1–6 met a day ago, users 7 and 8 just now.
			store.recordMatch(chat(1), user(1), user(2), NOW);
			store.recordMatch(chat(2), user(3), user(4), NOW);
			store.recordMatch(chat(3), user(5), user(6), NOW);
			const later = NOW + LAST_PARTNER_TTL_MS + 1;
			store.recordMatch(chat(4), user(7), user(8), later - 1000);
			store.meter.take();
			const deleted: number[] = [];
			for (let i = 0; i < 5; i++) {
				store.forgetExpired(later);
				deleted.push(store.meter.take());
			}
			// Two users' rows per run, in key order; the fourth slice is all fresh, the fifth finds the end.
			expect(deleted).toEqual([2, 2, 2, 0, 0]);
			const left = state.storage.sql
				.exec<{ user_id: string }>("SELECT user_id FROM recent_partners ORDER BY user_id")
				.toArray()
				.map((r) => r.user_id);
			expect(left).toEqual([user(7), user(8)]);
			expect(store.blocked(user(7), user(8), later)).toBe(true);
		});
	});
});

describe("rows a user cycle costs the Matchmaker", () => {
	let lines: string[] = [];
	beforeEach(() => {
		lines = [];
		vi.spyOn(console, "log").mockImplementation((...args: unknown[]) => {
			lines.push(args.map(String).join(" "));
		});
	});
	afterEach(() => {
		vi.restoreAllMocks();
	});

	it("match, join and end write five rows besides alarms; lobby_load reports the rows and the match", async () => {
		const name = lobbyName();
		const alarms = await watchAlarms(name);
		// A new lobby's first rows are its tables.
		const schema = await runInDurableObject(lobbyStub(name), (lobby: Matchmaker) => inner(lobby).meter.total);
		const pair = await chattingPair(name);
		pair.b.chat.send({ type: "leave_chat" });
		await pair.a.chat.expect("chat_ended");
		await pair.b.chat.expect("chat_ended");
		// The lobby has forgotten the chat before its users hear of the end.
		const written = await runInDurableObject(lobbyStub(name), (lobby: Matchmaker) => {
			const own = inner(lobby);
			// The next alarm is a sweep, which writes the line.
			own.hub.nextSweep = 0;
			return own.meter.total;
		});
		const alarmRows = alarms.filter((e) => e.kind === "set").length;
		// recordMatch 3, chatJoined 1, chatEnded 1; each setAlarm one more.
		expect(written - schema - alarmRows).toBe(5);
		expect(alarmRows).toBeGreaterThan(0);

		expect(await runDurableObjectAlarm(lobbyStub(name))).toBe(true);
		const loads = lines
			.map((l) => {
				try {
					return JSON.parse(l) as Record<string, unknown>;
				} catch {
					return null;
				}
			})
			.filter((e): e is Record<string, unknown> => e?.event === "lobby_load" && e.lobby === name);
		const sum = (key: string) => loads.reduce((n, e) => n + (e[key] as number), 0);
		expect(loads.length).toBeGreaterThan(0);
		expect(sum("matches")).toBe(1);
		// Every row up to the sweep's line is in the lines, the tables' too (nothing was due for deletion yet).
		expect(sum("rows_written")).toBe(written);
	});
});

describe("the Matchmaker's alarm", () => {
	it("a burst of joins and matches sets the alarm only when its deadline moves earlier", async () => {
		const name = lobbyName();
		const alarms = await watchAlarms(name);
		const users = await Promise.all(Array.from({ length: 16 }, () => initUser(name)));
		for (const u of users) join(u);
		await Promise.all(users.map((u) => u.lobby.waitFor("match_found")));
		const { broken, inRuns, total } = checkAlarms(alarms);
		expect(broken).toEqual([]);
		// 16 upgrades, 16 inits, 16 joins, 8 matches: a handful of deadlines (an init
		// deadline, a publication, the chats' drop time), not one per event.
		expect(total).toBeGreaterThan(0);
		expect(total).toBeLessThanOrEqual(3 + inRuns.length);
	});

	it("a run that ends windows, matches and publishes sets the next alarm once", async () => {
		const name = lobbyName();
		const alarms = await watchAlarms(name);
		const a = await initUser(name);
		const b = await initUser(name);
		// No shared interest: neither is matched until their windows end (an alarm).
		join(a, "other", "any", ["cats"]);
		await a.lobby.expect("queue_joined");
		join(b, "other", "any", ["dogs"]);
		await b.lobby.expect("queue_joined");
		const [found] = await Promise.all([a.lobby.expect("match_found"), b.lobby.expect("match_found")]);
		expect(found.shared_interests).toEqual([]);
		await until("the matching run to end", () => alarms.at(-1)?.kind === "ran");
		const { broken, inRuns } = checkAlarms(alarms);
		expect(broken).toEqual([]);
		expect(inRuns.length).toBeGreaterThan(0);
		// Every run leaves something pending (the sweep, the chat nobody joined yet): exactly one setAlarm each.
		expect(inRuns).toEqual(inRuns.map(() => 1));
	});

	it("after a wake it knows the pending alarm: a later deadline sets nothing, an earlier one sets it once", async () => {
		const name = lobbyName();
		const a = await initUser(name);
		const pending = Date.now() + 5_000;
		await runInDurableObject(lobbyStub(name), async (_lobby, state) => {
			await state.storage.setAlarm(pending);
		});
		await evictDurableObject(lobbyStub(name), { webSockets: "hibernate" });
		const alarms = await watchAlarms(name);
		const known = await runInDurableObject(lobbyStub(name), (lobby: Matchmaker) => inner(lobby).alarms.pendingAt);
		expect(known).toBe(pending);
		// A new socket's init deadline (10 s away) is later than the pending alarm.
		const late = await openLobby(name);
		late.send({ type: "init", payload: {} });
		await late.expect("ready");
		expect(alarms).toEqual([]);
		// An interest window ends in 400 ms: earlier.
		join(a, "other", "any", ["cats"]);
		await a.lobby.expect("queue_joined");
		const first = alarms[0];
		expect(first?.kind).toBe("set");
		expect(first && first.kind === "set" ? first.at : Number.POSITIVE_INFINITY).toBeLessThan(pending);
	});
});
