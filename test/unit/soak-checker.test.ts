// The soak's checker (soak/checker.ts): per chat and direction, every acked
// message delivered and shown exactly once (after the client's dedupe), in
// message_id order, nothing across chats; ids that jump forward after a
// restart, and copies resent after one, are understood.
import { describe, expect, it } from "vitest";
import { type ClientLog, check, summaryLine } from "../../soak/checker";

const CHAT = "c".repeat(32);
const OTHER = "d".repeat(32);

interface Msg {
	id: number;
	content: string;
}

/** A sends `msgs` to B in CHAT, all acked; B's log is filled in by the test. */
function chat(msgs: Msg[], options: { presentAtEnd?: boolean; settledJoins?: number[] } = {}) {
	const a: ClientLog = {
		name: "a",
		sends: msgs.map((m) => ({ chatId: CHAT, content: m.content, clientMsgId: `k${m.content}` })),
		acks: msgs.map((m, i) => ({ chatId: CHAT, messageId: m.id, clientMsgId: `k${m.content}`, at: 1_000 + i })),
		deliveries: [],
		chats: [{ chatId: CHAT, presentAtEnd: true, settledJoins: [] }],
	};
	const b: ClientLog = {
		name: "b",
		sends: [],
		acks: [],
		deliveries: [],
		chats: [{ chatId: CHAT, presentAtEnd: options.presentAtEnd ?? true, settledJoins: options.settledJoins ?? [] }],
	};
	const deliver = (m: Msg, conn = 1, after: number | null = null) =>
		b.deliveries.push({ chatId: CHAT, messageId: m.id, content: m.content, conn, after });
	return { a, b, deliver };
}

const m1 = { id: 1, content: "a#1" };
const m2 = { id: 2, content: "a#2" };
const m3 = { id: 3, content: "a#3" };

describe("soak checker", () => {
	it("passes a chat where every acked message arrived once, in order", () => {
		const { a, b, deliver } = chat([m1, m2, m3]);
		for (const m of [m1, m2, m3]) deliver(m);
		const v = check([a, b]);
		expect(v.ok).toBe(true);
		expect(v.totals).toMatchObject({ acked: 3, delivered: 3, lost: 0, duplicated: 0, reordered: 0, leaked: 0 });
		expect(v.chats).toBe(1);
		expect(v.directions).toBe(1);
	});

	it("counts an acked message as lost when the recipient was in the chat at its end", () => {
		const { a, b, deliver } = chat([m1, m2]);
		deliver(m1);
		const v = check([a, b]);
		expect(v.ok).toBe(false);
		expect(v.totals.lost).toBe(1);
		expect(v.problems[0]).toMatchObject({ kind: "lost", from: "a", to: "b", messageId: 2 });
		expect(v.badDirections).toHaveLength(1);
	});

	it("excludes a message the recipient could not get: it dropped and the chat ended without it", () => {
		const { a, b, deliver } = chat([m1, m2], { presentAtEnd: false });
		deliver(m1);
		const v = check([a, b]);
		expect(v.ok).toBe(true);
		expect(v.totals).toMatchObject({ lost: 0, excluded: 1 });
	});

	it("counts a gap as lost even when the recipient left: a later message arrived", () => {
		const { a, b, deliver } = chat([m1, m2, m3], { presentAtEnd: false });
		deliver(m1);
		deliver(m3);
		expect(check([a, b]).totals).toMatchObject({ lost: 1, excluded: 0 });
	});

	it("counts a message as lost when the recipient rejoined after its ack and stayed", () => {
		const after = chat([m1, m2], { presentAtEnd: false, settledJoins: [5_000] });
		after.deliver(m1);
		expect(check([after.a, after.b]).totals.lost).toBe(1);
		const before = chat([m1, m2], { presentAtEnd: false, settledJoins: [500] });
		before.deliver(m1);
		expect(check([before.a, before.b]).totals).toMatchObject({ lost: 0, excluded: 1 });
	});

	it("tells replays (the same id again, unasked) from re-deliveries the client asked for with after=N", () => {
		const same = chat([m1, m2]);
		same.deliver(m1, 1);
		same.deliver(m2, 1);
		same.deliver(m2, 1);
		const sv = check([same.a, same.b]);
		expect(sv.ok).toBe(false);
		expect(sv.totals).toMatchObject({ replayed: 1, duplicated: 0, redelivered: 0, lost: 0 });

		const noAfter = chat([m1, m2]);
		noAfter.deliver(m1, 1);
		noAfter.deliver(m1, 2, null);
		noAfter.deliver(m2, 2, null);
		expect(check([noAfter.a, noAfter.b]).totals).toMatchObject({ replayed: 1, redelivered: 0 });

		// A reconnect with after=0 asks for everything again: allowed.
		const asked = chat([m1, m2]);
		asked.deliver(m1, 1);
		asked.deliver(m1, 2, 0);
		asked.deliver(m2, 2, 0);
		const v = check([asked.a, asked.b]);
		expect(v.ok).toBe(true);
		expect(v.totals).toMatchObject({ duplicated: 0, redelivered: 1 });

		// after=1 asks for ids above 1 only: message 1 again is a replay.
		const notAsked = chat([m1, m2]);
		notAsked.deliver(m1, 1);
		notAsked.deliver(m1, 2, 1);
		expect(check([notAsked.a, notAsked.b]).totals).toMatchObject({ replayed: 1 });
	});

	it("counts ids that fall within a connection, and ids at or below after=N, as reordered", () => {
		const fall = chat([m1, m2, m3]);
		fall.deliver(m2, 1);
		fall.deliver(m1, 1);
		fall.deliver(m3, 1);
		expect(check([fall.a, fall.b]).totals.reordered).toBe(1);

		// A new connection starts again from after=N: not a reorder.
		const restart = chat([m1, m2, m3]);
		restart.deliver(m1, 1);
		restart.deliver(m3, 1);
		restart.deliver(m2, 2, 1);
		const v = check([restart.a, restart.b]);
		expect(v.totals).toMatchObject({ reordered: 0, lost: 0 });

		const below = chat([m1, m2]);
		below.deliver(m2, 1, 2);
		below.deliver(m1, 1, 2);
		expect(check([below.a, below.b]).totals.reordered).toBe(2);
	});

	it("finds leaks: a message from another chat, one's own message, an unknown one, a third member", () => {
		const { a, b } = chat([m1]);
		const c: ClientLog = {
			name: "c",
			sends: [{ chatId: OTHER, content: "c#1", clientMsgId: "kc1" }],
			acks: [{ chatId: OTHER, messageId: 1, clientMsgId: "kc1", at: 1 }],
			deliveries: [],
			chats: [{ chatId: OTHER, presentAtEnd: true, settledJoins: [] }],
		};
		b.deliveries.push(
			{ chatId: CHAT, messageId: 1, content: "a#1", conn: 1, after: null },
			{ chatId: CHAT, messageId: 2, content: "c#1", conn: 1, after: null },
		);
		a.deliveries.push(
			{ chatId: CHAT, messageId: 1, content: "a#1", conn: 1, after: null },
			{ chatId: CHAT, messageId: 3, content: "nobody", conn: 1, after: null },
		);
		const v = check([a, b, c]);
		expect(v.totals.leaked).toBe(3);
		expect(v.problems.map((p) => p.detail).sort()).toEqual(
			["a message nobody sent", `sent in chat ${OTHER}`, "the recipient's own message"].sort(),
		);

		const d: ClientLog = { ...c, name: "d", chats: [{ chatId: CHAT, presentAtEnd: true, settledJoins: [] }] };
		expect(check([a, b, d]).problems.some((p) => p.kind === "leaked" && p.detail.startsWith("3 clients"))).toBe(true);
	});

	it("finds acks and deliveries that disagree", () => {
		const moved = chat([m1]);
		moved.b.deliveries.push({ chatId: CHAT, messageId: 7, content: "a#1", conn: 1, after: null });
		expect(check([moved.a, moved.b]).totals.mismatched).toBe(1);

		const twice = chat([m1]);
		twice.a.acks.push({ chatId: CHAT, messageId: 5, clientMsgId: "ka#1", at: 9_000 });
		twice.deliver(m1);
		expect(check([twice.a, twice.b]).totals.mismatched).toBe(1);

		const shared = chat([m1, { id: 1, content: "a#2" }]);
		shared.deliver(m1);
		expect(check([shared.a, shared.b]).totals.mismatched).toBeGreaterThanOrEqual(1);
	});

	it("prints one line of counts", () => {
		const { a, b, deliver } = chat([m1]);
		deliver(m1);
		expect(summaryLine(check([a, b]).totals)).toBe(
			"lost=0 duplicated=0 reordered=0 replayed=0 leaked=0 mismatched=0 excluded=0 redelivered=0 acked=1 delivered=1 dropped_copies=0",
		);
	});
	describe("after a restart", () => {
		// A restart from 10,000 to 12,000 (ms, the logs' clock); the messages were sent at 1,000 + i.
		const RESTART = { downAt: 10_000, upAt: 12_000 };
		/** B's raw delivery of `m` under `id`, with the client's verdict on it. */
		/** A resent m2 (the chat's second message), acked after the restart. */
		const resentChat = () => {
			const c = chat([m1, { id: 257, content: m2.content }]);
			const ack = c.a.acks[1];
			if (ack) ack.at = 13_050;
			return c;
		};
		const copy = (m: Msg, id: number, conn: number, after: number | null, shown: boolean, at: number) => ({
			chatId: CHAT,
			messageId: id,
			content: m.content,
			conn,
			after,
			clientMsgId: `k${m.content}`,
			at,
			shown,
		});

		it("ids that jump forward after a restart are not losses", () => {
			const after1 = { id: 257, content: "a#4" };
			const after2 = { id: 258, content: "a#5" };
			const { a, b } = chat([m1, m2, m3, after1, after2]);
			b.deliveries.push(
				copy(m1, 1, 1, 0, true, 1_100),
				copy(m2, 2, 1, 0, true, 1_200),
				copy(m3, 3, 1, 0, true, 1_300),
				copy(after1, 257, 2, 3, true, 13_000),
				copy(after2, 258, 2, 3, true, 13_100),
			);
			const v = check([a, b], { restarts: [RESTART] });
			expect(v.problems).toEqual([]);
			expect(v.totals).toMatchObject({ acked: 5, delivered: 5, shown: 5, lost: 0, reordered: 0, copies: 0 });
		});

		it("a copy resent after a restart under a new id, dropped by the client, is not a duplicate", () => {
			// m2 reached B as 2, its receipt was lost with the server; A resent it: 257, acked as 257.
			const { a, b } = resentChat();
			b.deliveries.push(
				copy(m1, 1, 1, 0, true, 1_100),
				copy(m2, 2, 1, 0, true, 1_200),
				copy(m2, 257, 2, 2, false, 13_000),
			);
			const v = check([a, b], { restarts: [RESTART] });
			expect(v.problems).toEqual([]);
			expect(v.ok).toBe(true);
			expect(v.totals).toMatchObject({
				acked: 2,
				delivered: 3,
				shown: 2,
				duplicated: 0,
				mismatched: 0,
				lost: 0,
				copies: 1,
				droppedCopies: 1,
			});
		});

		it("a copy that came before the resend's ack was read, or never came, is fine too", () => {
			// Only the old copy arrived (the chat went on without the new one): the message is there.
			const { a, b } = resentChat();
			b.deliveries.push(copy(m1, 1, 1, 0, true, 1_100), copy(m2, 2, 1, 0, true, 1_200));
			const v = check([a, b], { restarts: [RESTART] });
			expect(v.problems).toEqual([]);
			expect(v.totals).toMatchObject({ lost: 0, mismatched: 0, copies: 0 });
		});

		it("a copy the client showed twice is still a duplicate", () => {
			const { a, b } = resentChat();
			b.deliveries.push(
				copy(m1, 1, 1, 0, true, 1_100),
				copy(m2, 2, 1, 0, true, 1_200),
				copy(m2, 257, 2, 2, true, 13_000),
			);
			const v = check([a, b], { restarts: [RESTART] });
			expect(v.ok).toBe(false);
			expect(v.totals).toMatchObject({ duplicated: 1, copies: 1, droppedCopies: 0, mismatched: 0 });
			expect(v.problems[0]).toMatchObject({ kind: "duplicated", to: "b", messageId: 257 });
		});

		it("a copy with no server restart in its life is allowed (the chat's object restarted on its own), and counted", () => {
			const { a, b } = resentChat();
			b.deliveries.push(
				copy(m1, 1, 1, 0, true, 1_100),
				copy(m2, 2, 1, 0, true, 1_200),
				copy(m2, 257, 2, 2, false, 13_000),
			);
			const v = check([a, b]);
			expect(v.problems).toEqual([]);
			expect(v.totals).toMatchObject({ copies: 1, droppedCopies: 1, copiedOutsideRestarts: 1, mismatched: 0 });
			// Across a server restart it is not counted as outside one.
			expect(check([a, b], { restarts: [RESTART] }).totals.copiedOutsideRestarts).toBe(0);
		});

		it("a message acked under one id and delivered again under a higher one is mismatched", () => {
			// A read the ack of 2: it never resends m2, so 257 cannot be its resend.
			const { a, b } = chat([m1, m2]);
			b.deliveries.push(
				copy(m1, 1, 1, 0, true, 1_100),
				copy(m2, 2, 1, 0, true, 1_200),
				copy(m2, 257, 2, 2, false, 13_000),
			);
			const v = check([a, b], { restarts: [RESTART] });
			expect(v.totals.mismatched).toBe(1);
			expect(v.problems[0]?.detail).toContain("an acked message got a new id");
		});

		it("a copy under a lower id than the first is mismatched (ids never go back)", () => {
			const { a, b } = chat([m1, { id: 257, content: m2.content }]);
			b.deliveries.push(
				copy(m1, 1, 1, 0, true, 1_100),
				copy(m2, 257, 1, 0, true, 1_200),
				copy(m2, 2, 2, 257, false, 13_000),
			);
			const v = check([a, b], { restarts: [RESTART] });
			expect(v.totals.mismatched).toBeGreaterThanOrEqual(1);
			expect(v.problems.some((p) => p.detail.includes("the later one lower"))).toBe(true);
		});

		it("an id delivered for two messages is mismatched (ids are never reused)", () => {
			const { a, b } = chat([m1, m2]);
			b.deliveries.push(copy(m1, 1, 1, 0, true, 1_100), { ...copy(m2, 1, 2, 0, true, 13_000) });
			const v = check([a, b], { restarts: [RESTART] });
			expect(v.totals.mismatched).toBeGreaterThanOrEqual(1);
			expect(v.problems.some((p) => p.detail.includes("delivered for two messages"))).toBe(true);
		});

		it("a message that arrived but that the client never showed is lost", () => {
			const { a, b } = chat([m1, m2]);
			b.deliveries.push(copy(m1, 1, 1, 0, true, 1_100), copy(m2, 2, 1, 0, false, 1_200));
			const v = check([a, b], { restarts: [RESTART] });
			expect(v.totals.lost).toBe(1);
			expect(v.problems[0]).toMatchObject({ kind: "lost", messageId: 2 });
		});

		it("counts acks that a receipt brought", () => {
			const { a, b } = chat([m1, m2]);
			const first = a.acks[0];
			if (first) first.viaReceipt = true;
			b.deliveries.push(copy(m1, 1, 1, 0, true, 1_100), copy(m2, 2, 1, 0, true, 1_200));
			expect(check([a, b]).totals).toMatchObject({ acked: 2, ackedViaReceipt: 1 });
		});
	});
});
