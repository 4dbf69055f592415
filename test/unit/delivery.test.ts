// The pure parts of delivery: ids reserved in blocks, and the messages that
// wait in memory for their receipt.
import { describe, expect, it } from "vitest";
import { ID_BLOCK, MessageIds } from "../../src/domain/chat/message-ids";
import { type AcceptedMessage, Unconfirmed } from "../../src/domain/chat/unconfirmed";

describe("message ids", () => {
	it("count by one, with one reservation write per block, always half a block ahead of the ids handed out", () => {
		const ids = MessageIds.fresh();
		const writes: number[] = [];
		// The chat's row carries the first reservation.
		let durable = ids.reserved;
		for (let n = 1; n <= 1_000; n++) {
			const { id, reserve } = ids.take();
			expect(id).toBe(n);
			// Every id handed out is under a reservation written before it was.
			expect(id).toBeLessThan(durable);
			if (reserve !== null) {
				writes.push(reserve);
				durable = reserve;
			}
		}
		// One write per block of ids.
		expect(writes.length).toBe(Math.floor((1_000 + ID_BLOCK / 2 - 1) / ID_BLOCK));
		expect(writes.every((w, i) => w === 1 + (i + 2) * ID_BLOCK)).toBe(true);
	});

	it("after a restart, go on from the reservation, which must be moved before the first id", () => {
		const ids = new MessageIds(300, 300);
		const moved = ids.ahead();
		expect(moved).toBe(300 + ID_BLOCK);
		expect(moved).toBeGreaterThanOrEqual(300 + ID_BLOCK / 2);
		expect(ids.take()).toEqual({ id: 300, reserve: null });
		expect(new MessageIds(10, 300).ahead()).toBeNull();
	});
});

const m = (id: number, sender: string, sentAt = id * 100, clientMsgId: string | null = null): AcceptedMessage => ({
	id,
	sender,
	content: `m${id}`,
	clientMsgId,
	sentAt,
});

describe("unconfirmed messages", () => {
	it("a receipt takes the confirmed sender's messages up to it, in order, and no one else's", () => {
		const u = new Unconfirmed();
		for (const msg of [m(1, "a"), m(2, "b"), m(3, "a"), m(4, "a")]) u.add(msg);
		expect(u.confirm("a", 3).map((x) => x.id)).toEqual([1, 3]);
		expect(u.confirm("a", 3)).toEqual([]);
		expect(u.from("a", 0).map((x) => x.id)).toEqual([4]);
		expect(u.from("b", 0).map((x) => x.id)).toEqual([2]);
		expect(u.from("b", 2)).toEqual([]);
	});

	it("overdue ones come out oldest first across senders; the oldest tells the next deadline", () => {
		const u = new Unconfirmed();
		for (const msg of [m(1, "a", 100), m(2, "b", 150), m(3, "a", 400)]) u.add(msg);
		expect(u.oldest()).toBe(100);
		expect(u.takeDue(200).map((x) => x.id)).toEqual([1, 2]);
		expect(u.oldest()).toBe(400);
		expect(u.takeDue(399)).toEqual([]);
		expect(u.takeFrom("a").map((x) => x.id)).toEqual([3]);
		expect(u.oldest()).toBeNull();
	});

	it("finds a waiting message by its sender's client_msg_id", () => {
		const u = new Unconfirmed();
		u.add(m(1, "a", 100, "x"));
		expect(u.byClientId("a", "x")?.id).toBe(1);
		expect(u.byClientId("b", "x")).toBeUndefined();
	});
});
