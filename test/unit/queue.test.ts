import { describe, expect, it } from "vitest";
import { MatchQueue, mutuallyAcceptable, type Seeker, sharedInterests } from "../../src/domain/matchmaker/queue";
import type { Gender, Preference } from "../../src/protocol/schemas";

const WINDOW = 10_000;
const never = () => false;
let seq = 0;

function seeker(
	userId: string,
	gender: Gender,
	preference: Preference,
	opts: { interests?: string[]; joinedAt?: number; language?: string } = {},
): Seeker {
	return {
		userId,
		gender,
		preference,
		interests: opts.interests ?? [],
		joinedAt: opts.joinedAt ?? 0,
		seq: ++seq,
		...(opts.language ? { language: opts.language } : {}),
	};
}

describe("rule 1: mutual preference", () => {
	it("both preferences must accept the other's gender", () => {
		const m = (g1: Gender, p1: Preference, g2: Gender, p2: Preference) =>
			mutuallyAcceptable({ gender: g1, preference: p1 }, { gender: g2, preference: p2 });
		expect(m("male", "female", "female", "male")).toBe(true);
		expect(m("male", "female", "female", "female")).toBe(false);
		expect(m("male", "any", "female", "female")).toBe(false);
		expect(m("male", "any", "other", "any")).toBe(true);
		expect(m("other", "other", "other", "other")).toBe(true);
	});

	it("the queue never pairs people whose preferences exclude each other", () => {
		const q = new MatchQueue(WINDOW);
		q.add(seeker("a", "male", "male"), 0);
		q.add(seeker("b", "female", "female"), 0);
		expect(q.findPartner(seeker("c", "male", "female"), 0, never)).toBeNull();
		expect(q.findPartner(seeker("d", "female", "any"), 0, never)?.partner.userId).toBe("b");
		expect(q.findPartner(seeker("e", "male", "any"), 0, never)?.partner.userId).toBe("a");
	});
});

describe("rule 2: first in, first out", () => {
	it("longest-waiting eligible user wins, across buckets", () => {
		const q = new MatchQueue(WINDOW);
		q.add(seeker("old-female", "female", "any"), 0);
		q.add(seeker("male", "male", "any"), 0);
		q.add(seeker("new-female", "female", "any"), 0);
		expect(q.findPartner(seeker("x", "other", "any"), 0, never)?.partner.userId).toBe("old-female");
		q.remove("old-female");
		expect(q.findPartner(seeker("x", "other", "any"), 0, never)?.partner.userId).toBe("male");
		expect(q.findPartner(seeker("y", "other", "female"), 0, never)?.partner.userId).toBe("new-female");
	});

	it("an ineligible head does not hide the eligible people behind it", () => {
		const q = new MatchQueue(WINDOW);
		q.add(seeker("ex", "female", "any"), 0);
		q.add(seeker("next", "female", "any"), 0);
		const blocked = (a: string, b: string) => [a, b].sort().join() === ["me", "ex"].sort().join();
		expect(q.findPartner(seeker("me", "male", "any"), 0, blocked)?.partner.userId).toBe("next");
	});

	it("removing and re-adding puts someone at the back", () => {
		const q = new MatchQueue(WINDOW);
		const a = seeker("a", "male", "any");
		q.add(a, 0);
		q.add(seeker("b", "male", "any"), 0);
		q.remove("a");
		q.add({ ...a, seq: ++seq }, 0);
		expect(q.findPartner(seeker("x", "female", "any"), 0, never)?.partner.userId).toBe("b");
		expect(q.size).toBe(2);
	});
});

describe("rule 3: interests", () => {
	it("within the window only people sharing an interest match", () => {
		const q = new MatchQueue(WINDOW);
		q.add(seeker("no-interests", "male", "any"), 0);
		q.add(seeker("chess", "male", "any", { interests: ["chess"], joinedAt: 0 }), 0);
		const music = seeker("music", "female", "any", { interests: ["music"], joinedAt: 1000 });
		expect(q.findPartner(music, 1000, never)).toBeNull();
		const chessFan = seeker("chess-fan", "female", "any", { interests: ["go", "chess"], joinedAt: 1000 });
		expect(q.findPartner(chessFan, 1000, never)).toEqual({
			partner: expect.objectContaining({ userId: "chess" }),
			shared: ["chess"],
		});
	});

	it("someone waiting inside their window is not taken by a non-sharer", () => {
		const q = new MatchQueue(WINDOW);
		q.add(seeker("chess", "male", "any", { interests: ["chess"], joinedAt: 0 }), 0);
		expect(q.findPartner(seeker("plain", "female", "any", { joinedAt: 5000 }), 5000, never)).toBeNull();
		// After the window both are open to anyone eligible.
		expect(q.endWindows(WINDOW).map((s) => s.userId)).toEqual(["chess"]);
		expect(q.findPartner(seeker("plain", "female", "any", { joinedAt: WINDOW }), WINDOW, never)?.partner.userId).toBe(
			"chess",
		);
	});

	it("a sharer is preferred over someone who waited longer", () => {
		const q = new MatchQueue(WINDOW);
		q.add(seeker("oldest", "male", "any"), 0);
		q.add(seeker("sharer", "male", "any", { interests: ["films"] }), 0);
		q.endWindows(WINDOW);
		const s = seeker("s", "female", "any", { interests: ["films"], joinedAt: WINDOW });
		expect(q.findPartner(s, WINDOW, never)).toMatchObject({ partner: { userId: "sharer" }, shared: ["films"] });
	});

	it("ties between sharers go to the longest-waiting", () => {
		const q = new MatchQueue(WINDOW);
		q.add(seeker("first", "male", "any", { interests: ["b"] }), 0);
		q.add(seeker("second", "male", "any", { interests: ["a"] }), 0);
		const s = seeker("s", "female", "any", { interests: ["a", "b"] });
		expect(q.findPartner(s, 0, never)?.partner.userId).toBe("first");
	});

	it("windows end in arrival order and say when the next one ends", () => {
		const q = new MatchQueue(WINDOW);
		q.add(seeker("a", "male", "any", { interests: ["x"], joinedAt: 100 }), 100);
		q.add(seeker("b", "male", "any", { interests: ["y"], joinedAt: 200 }), 200);
		expect(q.nextWindowEnd()).toBe(100 + WINDOW);
		expect(q.endWindows(100 + WINDOW).map((s) => s.userId)).toEqual(["a"]);
		expect(q.nextWindowEnd()).toBe(200 + WINDOW);
		q.remove("b");
		expect(q.nextWindowEnd()).toBeUndefined();
	});

	it("someone whose window is over matches the oldest open person", () => {
		const q = new MatchQueue(WINDOW);
		q.add(seeker("plain", "male", "any", { joinedAt: 0 }), 0);
		const s = seeker("s", "female", "any", { interests: ["x"], joinedAt: 0 });
		q.add(s, 0);
		expect(q.findPartner(s, 0, never)).toBeNull();
		const [ended] = q.endWindows(WINDOW);
		expect(ended?.userId).toBe("s");
		expect(q.findPartner(s, WINDOW, never)?.partner.userId).toBe("plain");
	});

	it("sharedInterests keeps the seeker's order", () => {
		expect(sharedInterests(["a", "b", "c"], ["c", "a"])).toEqual(["a", "c"]);
		expect(sharedInterests([], ["a"])).toEqual([]);
	});
});

describe("language: inside the window, no partner who gave a different one", () => {
	it("a seeker inside its window skips other languages, takes its own or none, and anyone after", () => {
		const q = new MatchQueue(WINDOW);
		q.add(seeker("pt", "female", "any", { language: "pt", joinedAt: -20_000 }), -20_000);
		q.add(seeker("none", "female", "any"), 0);
		q.add(seeker("en", "female", "any", { language: "en" }), 0);
		expect(q.endWindows(0).map((x) => x.userId)).toEqual(["pt"]);
		const en = seeker("me", "male", "any", { language: "en" });
		// The oldest open one speaks pt: skipped while my window is open; "none" is older than "en".
		expect(q.findPartner(en, 0, never)?.partner.userId).toBe("none");
		q.remove("none");
		expect(q.findPartner(en, 0, never)?.partner.userId).toBe("en");
		q.remove("en");
		expect(q.findPartner(en, 0, never)).toBeNull();
		// After my window: the pt speaker, whose own window is over too.
		expect(q.findPartner(en, WINDOW, never)?.partner.userId).toBe("pt");
	});

	it("someone waiting inside their window is not taken by another language, until the window ends", () => {
		const q = new MatchQueue(WINDOW);
		q.add(seeker("fr", "female", "any", { language: "fr" }), 0);
		const de = seeker("de", "male", "any", { language: "de", joinedAt: -60_000 });
		expect(q.findPartner(de, 0, never)).toBeNull();
		// A seeker without a language is no different language: eligible.
		expect(q.findPartner(seeker("x", "male", "any"), 0, never)?.partner.userId).toBe("fr");
		expect(q.endWindows(WINDOW).map((x) => x.userId)).toEqual(["fr"]);
		expect(q.findPartner(de, WINDOW, never)?.partner.userId).toBe("fr");
	});

	it("a shared interest does not override a different language inside the window", () => {
		const q = new MatchQueue(WINDOW);
		q.add(seeker("es-music", "female", "any", { language: "es", interests: ["music"] }), 0);
		q.add(seeker("en-music", "female", "any", { language: "en", interests: ["music"] }), 0);
		const me = seeker("me", "male", "any", { language: "en", interests: ["music"] });
		expect(q.findPartner(me, 0, never)?.partner.userId).toBe("en-music");
		q.remove("en-music");
		expect(q.findPartner(me, 0, never)).toBeNull();
		// Both windows over: the es speaker sharing music, and the share is reported.
		q.endWindows(WINDOW);
		expect(q.findPartner({ ...me, joinedAt: -WINDOW }, WINDOW, never)).toEqual({
			partner: expect.objectContaining({ userId: "es-music" }),
			shared: ["music"],
		});
	});

	it("across languages, a waiter still inside its window is not taken even when the seeker's is over", () => {
		const q = new MatchQueue(WINDOW);
		q.add(seeker("it-old", "female", "any", { language: "it", interests: ["chess"] }), 0);
		const me = seeker("me", "male", "any", { language: "en", interests: ["chess"], joinedAt: -WINDOW });
		expect(q.findPartner(me, 0, never)).toBeNull();
		expect(q.findPartner(me, WINDOW - 1, never)).toBeNull();
		// Its window is over (whether or not the alarm has moved it yet).
		expect(q.findPartner(me, WINDOW, never)?.partner.userId).toBe("it-old");
		q.endWindows(WINDOW);
		expect(q.findPartner(me, WINDOW, never)?.partner.userId).toBe("it-old");
	});
});

describe("rule 4: no rematch", () => {
	it("blocked pairs are skipped and a user is never their own partner", () => {
		const q = new MatchQueue(WINDOW);
		const a = seeker("a", "male", "any");
		q.add(a, 0);
		expect(q.findPartner(a, 0, never)).toBeNull();
		expect(q.findPartner(seeker("b", "female", "any"), 0, () => true)).toBeNull();
	});
});

describe("cost does not grow with the queue", () => {
	it("finds a compatible partner behind 10,000 incompatible waiters by looking at bucket heads", () => {
		const q = new MatchQueue(WINDOW);
		for (let i = 0; i < 10_000; i++) q.add(seeker(`m${i}`, "male", "male"), 0);
		q.add(seeker("f", "female", "male"), 0);
		let checks = 0;
		const counting = () => {
			checks++;
			return false;
		};
		expect(q.findPartner(seeker("x", "male", "female"), 0, counting)?.partner.userId).toBe("f");
		expect(checks).toBeLessThanOrEqual(12);
	});

	it("the language rule looks at whole lanes: 10,000 waiters of other languages cost no more", () => {
		const q = new MatchQueue(WINDOW);
		const languages = ["pt", "es", "de", "fr", "it"];
		for (let i = 0; i < 10_000; i++) {
			const language = languages[i % languages.length] as string;
			q.add(seeker(`w${i}`, "female", "any", { language, interests: i % 2 ? ["music"] : [] }), 0);
		}
		q.add(seeker("en", "female", "any", { language: "en", interests: ["music"] }), 0);
		let checks = 0;
		const counting = () => {
			checks++;
			return false;
		};
		const me = seeker("me", "male", "any", { language: "en", interests: ["music"] });
		expect(q.findPartner(me, 0, counting)?.partner.userId).toBe("en");
		expect(checks).toBeLessThanOrEqual(12);
	});
});
