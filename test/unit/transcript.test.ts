import { describe, expect, it } from "vitest";
import {
	acked,
	addOutgoing,
	emptyTranscript,
	isTranscript,
	received,
	refused,
	unacked,
} from "../../src/client/transcript";

describe("client transcript", () => {
	it("an outgoing message is sending until its ack, then sent with the server's id", () => {
		let t = addOutgoing(emptyTranscript("c"), "k1", "hi");
		expect(unacked(t).map((m) => m.key)).toEqual(["k1"]);
		t = acked(t, "k1", 7, 1234);
		expect(t.messages).toEqual([{ key: "k1", mine: true, content: "hi", state: "sent", messageId: 7, sentAt: 1234 }]);
		expect(unacked(t)).toEqual([]);
	});

	it("a second ack (a resend) and an ack for an unknown key change nothing", () => {
		const t = acked(addOutgoing(emptyTranscript("c"), "k1", "hi"), "k1", 1, 10);
		expect(acked(t, "k1", 1, 10)).toBe(t);
		expect(acked(t, "nope", 2, 20)).toBe(t);
	});

	it("received messages advance lastReceived; repeats after a reconnect are dropped", () => {
		let t = received(emptyTranscript("c"), 1, "a", 1);
		t = received(t, 3, "c", 3);
		expect(t.lastReceived).toBe(3);
		const again = received(t, 3, "c", 3);
		expect(again).toBe(t);
		expect(received(t, 2, "late", 2)).toBe(t);
		expect(t.messages.map((m) => m.content)).toEqual(["a", "c"]);
	});

	it("unacked keeps the order messages were written in", () => {
		let t = emptyTranscript("c");
		for (const k of ["a", "b", "c"]) t = addOutgoing(t, k, k);
		t = acked(t, "b", 2, 2);
		expect(unacked(t).map((m) => m.key)).toEqual(["a", "c"]);
	});

	it("a refused message (link_blocked) stays in the list, marked, and is never resent", () => {
		let t = emptyTranscript("c");
		for (const k of ["a", "b", "c"]) t = addOutgoing(t, k, k);
		t = refused(t, "b");
		expect(t.messages.map((m) => m.state)).toEqual(["sending", "refused", "sending"]);
		expect(unacked(t).map((m) => m.key)).toEqual(["a", "c"]);
		// Still there after a reload.
		const back: unknown = JSON.parse(JSON.stringify(t));
		expect(isTranscript(back)).toBe(true);
	});

	it("only a message still sending can be refused; an ack wins over a refusal", () => {
		let t = received(addOutgoing(addOutgoing(emptyTranscript("c"), "s", "sent"), "r", "x"), 1, "in", 1);
		t = acked(t, "s", 1, 10);
		expect(refused(t, "s")).toBe(t);
		expect(refused(t, "m1")).toBe(t);
		expect(refused(t, "nope")).toBe(t);
		t = refused(t, "r");
		expect(refused(t, "r")).toBe(t);
		// The server did take it after all (a refusal pinned on the wrong message): the ack is the truth.
		t = acked(t, "r", 2, 20);
		expect(t.messages.find((m) => m.key === "r")).toMatchObject({ state: "sent", messageId: 2 });
	});

	it("only well-formed transcripts are accepted back from storage", () => {
		const t = received(addOutgoing(emptyTranscript("c"), "k", "x"), 1, "y", 1);
		expect(isTranscript(JSON.parse(JSON.stringify(t)))).toBe(true);
		expect(isTranscript(null)).toBe(false);
		expect(isTranscript({ chatId: "c", lastReceived: "1", messages: [] })).toBe(false);
		expect(isTranscript({ chatId: "c", lastReceived: 0, messages: [{ key: 1 }] })).toBe(false);
		expect(isTranscript({ chatId: "c", lastReceived: 0, messages: [null] })).toBe(false);
		expect(
			isTranscript({ chatId: "c", lastReceived: 0, messages: [{ key: "k", content: "x", mine: true, state: "lost" }] }),
		).toBe(false);
	});
});
