import { describe, expect, it } from "vitest";
import {
	acked,
	addOutgoing,
	delivered,
	emptyTranscript,
	isTranscript,
	received,
	refused,
	type Transcript,
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

	it("message_delivered: every message of ours with an id up to up_to is delivered, in order sending → sent → delivered", () => {
		let t = emptyTranscript("c");
		for (const k of ["a", "b", "c", "d"]) t = addOutgoing(t, k, k);
		t = received(t, 2, "theirs", 2);
		t = acked(t, "a", 1, 1);
		t = acked(t, "b", 3, 3);
		t = acked(t, "c", 9, 9); // ids may jump (a server restart): nothing assumes consecutive ones
		t = delivered(t, 3);
		expect(t.messages.map((m) => `${m.key}:${m.state}`)).toEqual([
			"a:delivered",
			"b:delivered",
			"c:sent",
			"d:sending",
			"m2:received",
		]);
		expect(t.deliveredUpTo).toBe(3);
		// An older or repeated up_to changes nothing.
		expect(delivered(t, 3)).toBe(t);
		expect(delivered(t, 1)).toBe(t);
		t = delivered(t, 9);
		expect(t.messages.find((m) => m.key === "c")?.state).toBe("delivered");
		expect(unacked(t).map((m) => m.key)).toEqual(["d"]);
	});

	it("a late ack never moves a delivered message back to sent", () => {
		let t = acked(addOutgoing(emptyTranscript("c"), "a", "x"), "a", 1, 10);
		t = delivered(t, 1);
		expect(acked(t, "a", 1, 10)).toBe(t);
		expect(t.messages[0]?.state).toBe("delivered");
	});

	it("an ack that comes after the message_delivered covering its id is delivered at once", () => {
		let t = addOutgoing(addOutgoing(emptyTranscript("c"), "a", "x"), "b", "y");
		t = delivered(t, 1); // the id of "a" is not known yet: nothing to mark, the mark is kept
		expect(t.messages.map((m) => m.state)).toEqual(["sending", "sending"]);
		t = acked(t, "a", 1, 10);
		t = acked(t, "b", 2, 11);
		expect(t.messages.map((m) => m.state)).toEqual(["delivered", "sent"]);
	});

	it("a message still sending with a known id is delivered too", () => {
		const t: Transcript = {
			chatId: "c",
			lastReceived: 0,
			messages: [{ key: "a", mine: true, content: "x", state: "sending", messageId: 4 }],
		};
		expect(delivered(t, 4).messages[0]?.state).toBe("delivered");
		expect(delivered(t, 3).messages[0]?.state).toBe("sending");
	});

	it("a refused message is not delivered by a receipt", () => {
		let t = refused(addOutgoing(emptyTranscript("c"), "a", "x"), "a");
		t = delivered(t, 5);
		expect(t.messages[0]?.state).toBe("refused");
	});

	it("a copy of a received message (same client_msg_id, a new id) is dropped but its id counts", () => {
		let t = received(emptyTranscript("c"), 1, "hello", 1, "k-1");
		t = received(t, 2, "second", 2, "k-2");
		// The server restarted between delivery and receipt; the sender resent "hello", ids jumped.
		const copy = received(t, 40, "hello", 40, "k-1");
		expect(copy.messages).toBe(t.messages);
		expect(copy.lastReceived).toBe(40);
		expect(received(copy, 41, "new", 41, "k-3").messages.map((m) => m.content)).toEqual(["hello", "second", "new"]);
		// Messages without a client_msg_id are never taken for copies.
		const plain = received(received(emptyTranscript("c"), 1, "hi", 1), 2, "hi", 2);
		expect(plain.messages.map((m) => m.content)).toEqual(["hi", "hi"]);
		// Our own client_msg_ids are a different space: a partner message with one of them is shown.
		const mine = received(addOutgoing(emptyTranscript("c"), "k-9", "mine"), 1, "theirs", 1, "k-9");
		expect(mine.messages.map((m) => m.content)).toEqual(["mine", "theirs"]);
	});

	it("the client_msg_id of received messages survives a reload, so a copy is still dropped after it", () => {
		const t = received(emptyTranscript("c"), 3, "hello", 3, "k-1");
		const back: unknown = JSON.parse(JSON.stringify(t));
		expect(isTranscript(back)).toBe(true);
		const after = received(back as Transcript, 7, "hello", 7, "k-1");
		expect(after.messages).toHaveLength(1);
		expect(after.lastReceived).toBe(7);
	});

	it("transcripts stored by the previous version (no deliveredUpTo, no clientMsgId) are still read and work", () => {
		const old = {
			chatId: "c",
			lastReceived: 2,
			messages: [
				{ key: "a", mine: true, content: "x", state: "sent", messageId: 1, sentAt: 5 },
				{ key: "m2", mine: false, content: "y", state: "received", messageId: 2, sentAt: 6 },
				{ key: "b", mine: true, content: "z", state: "sending" },
			],
		};
		expect(isTranscript(old)).toBe(true);
		const t = delivered(acked(old as Transcript, "b", 3, 7), 3);
		expect(t.messages.map((m) => m.state)).toEqual(["delivered", "received", "delivered"]);
		const more = received(received(t, 3, "new", 8, "k"), 4, "new", 9, "k");
		expect(more.messages.map((m) => m.content)).toEqual(["x", "y", "z", "new"]);
		expect(more.lastReceived).toBe(4);
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
		const message = { key: "k", content: "x", mine: true, state: "delivered" };
		expect(isTranscript({ chatId: "c", lastReceived: 0, deliveredUpTo: 1, messages: [message] })).toBe(true);
		expect(isTranscript({ chatId: "c", lastReceived: 0, deliveredUpTo: "1", messages: [message] })).toBe(false);
		expect(isTranscript({ chatId: "c", lastReceived: 0, messages: [{ ...message, clientMsgId: 5 }] })).toBe(false);
		expect(isTranscript({ chatId: "c", lastReceived: 0, messages: [{ ...message, messageId: "1" }] })).toBe(false);
	});
});
