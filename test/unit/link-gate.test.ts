import { describe, expect, it } from "vitest";
import { DEFAULT_TIMINGS } from "../../src/config";
import { contactIn, gateHolds } from "../../src/safety/link-gate";

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
