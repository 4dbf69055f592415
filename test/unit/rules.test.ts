import { describe, expect, it } from "vitest";
import { DEFAULT_TIMINGS } from "../../src/config";
import { type ChatState, dueEnd, endReasons, newMember, nextDeadline } from "../../src/domain/chat/lifecycle";
import { SocketLimits } from "../../src/domain/limits/socket-limits";
import { RefusalCounter, TokenBucket } from "../../src/domain/limits/token-bucket";
import { originAllowed, parseAllowList } from "../../src/server/origin";

const t = DEFAULT_TIMINGS;
function chat(members: ChatState["members"]): ChatState {
	return { chatId: "c", users: ["a", "b"], matchedAt: 0, lobby: "global", members };
}
const m = (joined: boolean, offlineSince: number | null = null) => ({ ...newMember(), joined, offlineSince });

describe("chat lifecycle", () => {
	it("each side hears its own reason", () => {
		const s = chat({ a: m(true), b: m(true) });
		expect(endReasons(s, { kind: "left", by: "a" })).toEqual({ a: "you_left", b: "partner_left" });
		expect(endReasons(s, { kind: "reported", by: "b", reason: "spam" })).toEqual({
			b: "you_reported",
			a: "partner_left",
		});
		expect(endReasons(s, { kind: "disconnected", who: "a" })).toEqual({
			a: "partner_disconnected",
			b: "partner_disconnected",
		});
		expect(endReasons(s, { kind: "abandoned" })).toEqual({ a: "abandoned", b: "abandoned" });
	});

	it("abandoned when not both joined within the abandon window", () => {
		const s = chat({ a: m(true), b: m(false) });
		expect(nextDeadline(s, t)).toBe(t.abandonMs);
		expect(dueEnd(s, t.abandonMs - 1, t)).toBeNull();
		expect(dueEnd(s, t.abandonMs, t)).toEqual({ kind: "abandoned" });
		// Once both joined, only the chat's lifetime is left.
		expect(nextDeadline(chat({ a: m(true), b: m(true) }), t)).toBe(t.maxChatMs);
	});

	it("a chat of any kind ends at the end of its lifetime (its tickets'), for both as abandoned", () => {
		const s = chat({ a: m(true), b: m(true) });
		expect(t.maxChatMs).toBe(24 * 60 * 60 * 1000);
		expect(dueEnd(s, t.maxChatMs - 1, t)).toBeNull();
		expect(dueEnd(s, t.maxChatMs, t)).toEqual({ kind: "expired" });
		expect(endReasons(s, { kind: "expired" })).toEqual({ a: "abandoned", b: "abandoned" });
	});

	it("partner_disconnected after the grace period, unless they came back", () => {
		const s = chat({ a: m(true, 5000), b: m(true) });
		expect(dueEnd(s, 5000 + t.graceMs - 1, t)).toBeNull();
		expect(dueEnd(s, 5000 + t.graceMs, t)).toEqual({ kind: "disconnected", who: "a" });
	});
});

describe("rate limits", () => {
	it("a token bucket allows its burst, then its rate", () => {
		const b = new TokenBucket({ ratePerSec: 5, burst: 10 }, 0);
		for (let i = 0; i < 10; i++) expect(b.take(0)).toBe(0);
		expect(b.take(0)).toBe(200);
		expect(b.take(200)).toBe(0);
		expect(b.take(200)).toBeGreaterThan(0);
	});

	it("more than 20 refusals in a minute close the socket", () => {
		const r = new RefusalCounter(20, 60_000);
		for (let i = 0; i < 20; i++) expect(r.record(i)).toBe(false);
		expect(r.record(20)).toBe(true);
		const slow = new RefusalCounter(20, 60_000);
		for (let i = 0; i < 40; i++) expect(slow.record(i * 4000)).toBe(false);
	});

	it("socket limits guard costly events more strictly than frames", () => {
		const l = new SocketLimits({ ratePerSec: 1, burst: 5 }, 0);
		for (let i = 0; i < 5; i++) expect(l.check(0, true)).toEqual({ ok: true });
		expect(l.check(0, true)).toMatchObject({ ok: false, close: false });
		expect(l.check(0, false)).toEqual({ ok: true });
	});
});

describe("origins", () => {
	const url = new URL("https://chat.example.com/ws");
	const list = parseAllowList(" https://a.example , https://b.example/ ,");
	it("own origin and the allow list pass; no Origin passes", () => {
		expect(originAllowed(null, url, list)).toBe(true);
		expect(originAllowed("https://chat.example.com", url, list)).toBe(true);
		expect(originAllowed("https://a.example", url, list)).toBe(true);
		expect(originAllowed("https://b.example", url, list)).toBe(true);
	});
	it("local development origins pass on a server reached on localhost", () => {
		for (const local of ["http://127.0.0.1:8787/ws", "http://localhost:8787/ws", "http://[::1]:8787/ws"]) {
			const here = new URL(local);
			expect(originAllowed("http://localhost:5173", here, list), local).toBe(true);
			expect(originAllowed("http://127.0.0.1:3000", here, list), local).toBe(true);
			expect(originAllowed("http://localhost", here, list), local).toBe(true);
			expect(originAllowed(`${here.protocol}//${here.host}`, here, list), local).toBe(true);
			expect(originAllowed("https://a.example", here, list), local).toBe(true);
			expect(originAllowed("https://evil.example", here, list), local).toBe(false);
			expect(originAllowed("http://localhost.evil.example", here, list), local).toBe(false);
		}
	});
	it("local development origins are refused by a deployed server", () => {
		for (const deployed of [url, new URL("https://flamingo-chat.x.workers.dev/ws/chat/0123?ticket=t")]) {
			expect(originAllowed("http://localhost:5173", deployed, list)).toBe(false);
			expect(originAllowed("http://127.0.0.1:8787", deployed, list)).toBe(false);
			expect(originAllowed("http://localhost", deployed, list)).toBe(false);
		}
		// A host that merely starts with "localhost" is not loopback.
		expect(originAllowed("http://localhost:5173", new URL("https://localhost.evil.example/ws"), list)).toBe(false);
		// An allow-listed local origin is the operator's choice and passes anywhere.
		expect(originAllowed("http://localhost:5173", url, parseAllowList("http://localhost:5173"))).toBe(true);
	});
	it("anything else is refused", () => {
		expect(originAllowed("https://evil.example", url, list)).toBe(false);
		expect(originAllowed("http://localhost.evil.example", url, list)).toBe(false);
		expect(originAllowed("http://chat.example.com", url, list)).toBe(false);
		expect(originAllowed("null", url, list)).toBe(false);
		expect(originAllowed("https://a.example.evil", url, list)).toBe(false);
	});
});

describe("configuration variables", () => {
	it("unset or empty values fall back to the protocol's defaults", async () => {
		const { timingsFrom, challengeDifficulty } = await import("../../src/config");
		const env = { INTEREST_WINDOW_MS: "", GRACE_MS: " ", ABANDON_MS: "x", CHALLENGE_DIFFICULTY: "" } as never;
		expect(timingsFrom(env)).toEqual(DEFAULT_TIMINGS);
		expect(challengeDifficulty(env)).toBe(16);
		expect(challengeDifficulty({ CHALLENGE_DIFFICULTY: "0" } as never)).toBe(0);
		expect(timingsFrom({ GRACE_MS: "250" } as never).graceMs).toBe(250);
	});
});
