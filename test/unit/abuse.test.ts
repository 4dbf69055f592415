import { describe, expect, it } from "vitest";
import { ABUSE, AbuseTracker } from "../../src/domain/safety/abuse";
import { checkSolution, leadingZeroBits, solve } from "../../src/domain/safety/pow";

const started = (t: AbuseTracker, user: string, address: string | null, now: number) =>
	t.chatStarted([{ user, address }], now);

describe("abuse tracker", () => {
	it("more than 10 chats a minute by one user, then cleared for a minute once solved", () => {
		const t = new AbuseTracker();
		for (let i = 0; i < ABUSE.userStarts; i++) started(t, "u", null, i);
		expect(t.mustSolve("u", null, true, 100)).toBeNull();
		started(t, "u", null, 100);
		expect(t.mustSolve("u", null, true, 100)).toBe("chats");
		t.solved("u", 200);
		expect(t.mustSolve("u", null, true, 200)).toBeNull();
		// The window slides: old starts age out.
		const slow = new AbuseTracker();
		for (let i = 0; i < 30; i++) started(slow, "s", null, i * 10_000);
		expect(slow.mustSolve("s", null, true, 300_000)).toBeNull();
	});

	it("5 rate-limit refusals within a minute", () => {
		const t = new AbuseTracker();
		for (let i = 0; i < 4; i++) t.refused("u", i);
		expect(t.mustSolve("u", null, true, 10)).toBeNull();
		t.refused("u", 10);
		expect(t.mustSolve("u", null, true, 10)).toBe("rate_limits");
	});

	it("more than 60 chats from one address; counted once per match; off with PER_IP_LIMITS", () => {
		const t = new AbuseTracker();
		for (let i = 0; i < 60; i++)
			t.chatStarted(
				[
					{ user: `a${i}`, address: "ip" },
					{ user: `b${i}`, address: "ip" },
				],
				i,
			);
		expect(t.mustSolve("fresh", "ip", true, 100)).toBeNull();
		started(t, "x", "ip", 100);
		expect(t.mustSolve("fresh", "ip", true, 100)).toBe("address");
		expect(t.mustSolve("fresh", "ip", false, 100)).toBeNull();
		expect(t.mustSolve("fresh", "other-ip", true, 100)).toBeNull();
	});

	it("prune forgets idle users", () => {
		const t = new AbuseTracker();
		for (let i = 0; i < 11; i++) started(t, "u", "ip", 0);
		t.prune(ABUSE.windowMs + 1);
		expect(t.mustSolve("u", "ip", true, ABUSE.windowMs + 1)).toBeNull();
	});
});

describe("proof of work", () => {
	it("counts leading zero bits", () => {
		expect(leadingZeroBits(new Uint8Array([0, 0, 0x80]))).toBe(16);
		expect(leadingZeroBits(new Uint8Array([0, 0x0f]))).toBe(12);
		expect(leadingZeroBits(new Uint8Array([0xff]))).toBe(0);
		expect(leadingZeroBits(new Uint8Array([0, 0]))).toBe(16);
	});

	it("a found solution checks; another string does not (at a difficulty where that is near certain)", async () => {
		const solution = await solve("nonce", 12);
		expect(solution).not.toBeNull();
		expect(await checkSolution("nonce", solution ?? "", 12)).toBe(true);
		expect(await checkSolution("other-nonce", solution ?? "", 12)).toBe(false);
	});
});
