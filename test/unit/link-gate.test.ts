import { describe, expect, it } from "vitest";
import { DEFAULT_TIMINGS } from "../../src/config";
import { contactIn, gateHolds, scanForm } from "../../src/domain/safety/link-gate";

const caught: [string, string][] = [
	["https://example.com/x", "url"],
	["go to http://bit.ly/abc now", "url"],
	["www.example.org", "url"],
	["my site is example.com", "domain"],
	["snap me at cutie.xyz", "domain"],
	["EXAMPLE.COM", "domain"],
	["discord.gg/abcdef", "domain"],
	["t.me/someone", "domain"],
	["example dot com", "domain"],
	["example (dot) net", "domain"],
	["mail me: jane.doe@mail.example.com", "email"],
	["jane (at) example.org", "email"],
	["add me @coolguy99", "handle"],
	["@jane_doe", "handle"],
	["insta: @the.real.one", "handle"],
	["call 5551234567", "phone"],
	["+44 20 7946 0958", "phone"],
	["(030) 1234 5678", "phone"],
	["555-0100", "phone"],
	["555 123 4567", "phone"],
	["0151.2345.678", "phone"],
];

const passes = [
	"3.5 stars",
	"e.g. this",
	"i.e. that",
	"see you at 10:30",
	"it was 2024-05-01",
	"on 01.05.2024",
	"Mr. Smith and Dr. Who",
	"U.S. and U.K.",
	"I have 1,000 problems",
	"between 1999 and 2000",
	"ok... sure",
	"node.js is fine",
	"open file.txt",
	"version 2.0.1",
	"hello 👋 how are you?",
	"I am 17",
	"me@ home",
	"email me? no thanks",
	"score 3-2",
	"pi is 3.14159",
];

describe("link gate patterns", () => {
	it.each(caught)("catches %s as %s", (text, kind) => {
		expect(contactIn(text)).toBe(kind);
	});

	it.each(passes)("lets %s pass", (text) => {
		expect(contactIn(text)).toBeNull();
	});
});

// Contact details disguised so that the plain patterns miss them: invisible
// characters, full stops and @ signs from other scripts or widths, digits
// from other scripts, and letters that look Latin. Each was let through
// before the scan normalised its text. Escapes keep the disguise visible here.
const disguised: { label: string; text: string; kind: string }[] = [
	{ label: "zero-width space before the dot", text: "example\u200b.com", kind: "domain" },
	{ label: "zero-width non-joiner before the dot", text: "example\u200c.com", kind: "domain" },
	{ label: "zero-width joiner before the dot", text: "example\u200d.org", kind: "domain" },
	{ label: "word joiner before the dot", text: "example\u2060.net", kind: "domain" },
	{ label: "right-to-left mark after the dot", text: "example.\u200fcom", kind: "domain" },
	{ label: "Mongolian vowel separator", text: "example\u180e.com", kind: "domain" },
	{ label: "combining grapheme joiner", text: "example\u034f.com", kind: "domain" },
	{ label: "variation selector", text: "example\ufe0f.com", kind: "domain" },
	{ label: "zero-width space in t.me", text: "t\u200b.me/someone", kind: "domain" },
	{ label: "soft hyphen in discord.gg", text: "discord\u00ad.gg/x", kind: "domain" },
	{ label: "soft hyphen in a handle", text: "add me @\u00adcoolguy99", kind: "handle" },
	{ label: "ideographic full stop", text: "example\u3002com", kind: "domain" },
	{ label: "ideographic full stops in a www URL", text: "www\u3002example\u3002com", kind: "url" },
	{ label: "fullwidth full stop", text: "example\uff0ecom", kind: "domain" },
	{ label: "halfwidth ideographic full stop", text: "example\uff61com", kind: "domain" },
	{ label: "small full stop", text: "example\ufe52com", kind: "domain" },
	{ label: "vertical ideographic full stop", text: "example\ufe12com", kind: "domain" },
	{ label: "one dot leader", text: "example\u2024com", kind: "domain" },
	{ label: "Arabic full stop", text: "example\u06d4com", kind: "domain" },
	{ label: "fullwidth scheme", text: "\uff48\uff54\uff54\uff50\uff53\uff1a\uff0f\uff0fexample.com", kind: "url" },
	{
		label: "fullwidth URL",
		text: "\uff48\uff54\uff54\uff50\uff53\uff1a\uff0f\uff0f\uff45\uff58\uff41\uff4d\uff50\uff4c\uff45",
		kind: "url",
	},
	{ label: "Cyrillic o in google.com", text: "g\u043e\u043egle.c\u043em", kind: "domain" },
	{ label: "Greek omicron in google.com", text: "g\u03bf\u03bfgle.c\u03bfm", kind: "domain" },
	{ label: "Armenian oh in google.com", text: "g\u0585\u0585gle.c\u0585m", kind: "domain" },
	{ label: "Cyrillic e and es o in example.com", text: "\u0435xample.\u0441\u043em", kind: "domain" },
	{ label: "an all-Cyrillic example.com", text: "\u0435\u0445\u0430m\u0440\u04cf\u0435.\u0441\u043em", kind: "domain" },
	{ label: "Greek capitals in EXAMPLE.COM", text: "EXAMPLE.C\u039f\u039c", kind: "domain" },
	{ label: "Cyrillic i and o in a .io domain", text: "site.\u0456\u043e", kind: "domain" },
	{ label: "Cyrillic o in dot", text: "example d\u043et com", kind: "domain" },
	{ label: "Cyrillic es in a handle", text: "@\u0441oolguy", kind: "handle" },
	{ label: "fullwidth @ in an e-mail address", text: "jane\uff20example.com", kind: "email" },
	{
		label: "e-mail address with zero-width spaces and an ideographic full stop",
		text: "jane\u200b@\u200bexample\u3002com",
		kind: "email",
	},
	{ label: "fullwidth @ handle", text: "\uff20handle", kind: "handle" },
	{ label: "small @ handle", text: "\ufe6bhandle", kind: "handle" },
	{ label: "fullwidth digits", text: "\uff15\uff15\uff15\uff11\uff12\uff13\uff14\uff15\uff16\uff17", kind: "phone" },
	{ label: "Arabic-Indic digits", text: "\u0665\u0665\u0665\u0661\u0662\u0663\u0664\u0665\u0666\u0667", kind: "phone" },
	{
		label: "Extended Arabic-Indic (Persian) digits",
		text: "\u06f5\u06f5\u06f5\u06f1\u06f2\u06f3\u06f4\u06f5\u06f6\u06f7",
		kind: "phone",
	},
	{ label: "Devanagari digits", text: "\u096b\u096b\u096b\u0967\u0968\u0969\u096a\u096b\u096c\u096d", kind: "phone" },
	{ label: "Bengali digits grouped with a hyphen", text: "\u09eb\u09eb\u09eb-\u09e6\u09e7\u09e6\u09e6", kind: "phone" },
	{
		label: "Thai digits in three groups",
		text: "\u0e50\u0e58\u0e51 \u0e52\u0e53\u0e54 \u0e55\u0e56\u0e57\u0e58",
		kind: "phone",
	},
	{
		label: "mathematical bold digits",
		text: "\u{1d7d3}\u{1d7d3}\u{1d7d3}\u{1d7cf}\u{1d7d0}\u{1d7d1}\u{1d7d2}\u{1d7d3}\u{1d7d4}\u{1d7d5}",
		kind: "phone",
	},
	{
		label: "ASCII digits run on in Arabic-Indic",
		text: "555\u0661\u0662\u0663\u0664\u0665\u0666\u0667",
		kind: "phone",
	},
	{
		label: "+ and fullwidth digits in groups",
		text: "+\uff14\uff14 \uff12\uff10 \uff17\uff19\uff14\uff16 \uff10\uff19\uff15\uff18",
		kind: "phone",
	},
];

// Ordinary text in other scripts and widths, which the normalisation must not turn into a contact detail.
const passesNormalised = [
	"привет, как дела?",
	"Привет. Как дела?",
	"т.е. это так",
	"καλημέρα",
	"π.χ. αυτό",
	"こんにちは。元気？",
	"我很好。谢谢！",
	"عمري ٢٥ سنة",
	"مرحبا، كيف حالك؟",
	"मेरी उम्र २५ है",
	"ساعت ۱۰:۳۰",
	"٠١.٠٥.٢٠٢٤",
	"１２３",
	"Ｅ．ｇ． ｔｈｉｓ",
	"Ｉ ａｍ １７",
	"naïve café",
	"שלום, מה שלומך?",
	"👨\u200d👩\u200d👧 family",
	"5 km² away",
	"Ελλάδα. Αθήνα",
];

describe("link gate normalises before it looks", () => {
	it.each(disguised)("catches $label as $kind", ({ text, kind }) => {
		expect(contactIn(text)).toBe(kind);
	});

	it.each(passesNormalised)("lets %s pass", (text) => {
		expect(contactIn(text)).toBeNull();
	});
});

const codePoints = function* (test: RegExp) {
	for (let cp = 0; cp <= 0x10ffff; cp++) {
		if (cp >= 0xd800 && cp <= 0xdfff) continue;
		const char = String.fromCodePoint(cp);
		if (test.test(char)) yield cp;
	}
};

describe("the text the gate scans", () => {
	it("is the text itself when it is all ASCII", () => {
		const text = "Mr. Smith, see https://example.com at 10:30 \t(ok)";
		expect(scanForm(text)).toBe(text);
	});

	it("has every decimal digit of every script as its ASCII digit", () => {
		// The mapping counts from the start of each run of digits, so it holds
		// only while every run is whole sets of 0-9; check that, then the values.
		const runs: number[][] = [];
		let last = -2;
		for (const cp of codePoints(/^\p{Nd}$/u)) {
			if (cp === last + 1) runs.at(-1)?.push(cp);
			else runs.push([cp]);
			last = cp;
		}
		expect(runs.length).toBeGreaterThan(60);
		for (const run of runs) {
			expect(run.length % 10).toBe(0);
			expect(scanForm(String.fromCodePoint(...run))).toBe("0123456789".repeat(run.length / 10));
		}
		// Spot checks whose expected values do not come from the same rule.
		expect(scanForm("\u0660\u0661\u0662\u0663\u0664\u0665\u0666\u0667\u0668\u0669")).toBe("0123456789");
		expect(scanForm("\u06f0\u06f9 \u0966\u096f \u0e50\u0e59 \u{1e950}\u{1e959}")).toBe("09 09 09 09");
		expect(scanForm("\u{1d7ce}\u{1d7d7}\u{1d7d8}\u{1d7ff}")).toBe("0909");
	});

	it("has no format or other default-ignorable characters", () => {
		for (const cp of codePoints(/^[\p{Cf}\p{Default_Ignorable_Code_Point}]$/u)) {
			const scanned = scanForm(`a${String.fromCodePoint(cp)}b`);
			if (scanned !== "ab") expect.fail(`U+${cp.toString(16)} scanned as ${JSON.stringify(scanned)}`);
		}
	});

	it("has full stops and @ signs of other scripts and widths as ASCII", () => {
		for (const stop of "\u0589\u06d4\u0701\u0702\u1362\u166e\u1803\u1809\u2024\u2e3c\u3002\ua4ff\ua60e\ua6f3\ufe12\ufe52\uff0e\uff61")
			expect(scanForm(`a${stop}b`)).toBe("a.b");
		expect(scanForm("a\uff20b \ufe6bc")).toBe("a@b @c");
	});

	it("reads look-alikes as Latin only in mixed words and in ones shaped like a domain", () => {
		expect(scanForm("g\u043e\u043egle")).toBe("google");
		expect(scanForm("\u0441\u043e\u043c.\u0441\u043e\u043c")).toBe("com.com");
		expect(scanForm("\u0441\u043e\u043c \u0442\u043e")).toBe("\u0441\u043e\u043c \u0442\u043e");
		expect(scanForm("Ελλάδα. Αθήνα.Το")).toBe("Ελλάδα. Αθήνα.Το");
		expect(scanForm("café.com")).toBe("cafe.com");
	});
});

describe("when the gate holds", () => {
	it("for the first 30 s of the chat and each side's first 3 messages", () => {
		const start = 1_000;
		const gate = DEFAULT_TIMINGS.linkGateMs;
		expect(gate).toBe(30_000);
		expect(gateHolds(start, start + 5_000, 10, gate)).toBe(true);
		expect(gateHolds(start, start + gate, 0, gate)).toBe(true);
		expect(gateHolds(start, start + gate, 2, gate)).toBe(true);
		expect(gateHolds(start, start + gate, 3, gate)).toBe(false);
		expect(gateHolds(start, start + gate - 1, 3, gate)).toBe(true);
	});
});
