// Messages relayed to a partner's socket and not yet confirmed by it: the
// server keeps them in memory only, because the partner's `received` is
// what makes them safe (PROTOCOL.md 1.1, delivery receipts). Whatever is
// still here RECEIPT_TIMEOUT_MS after it was relayed is stored instead, and
// whatever is here when the partner goes offline too. Pure: the ChatRoom
// owns the clock, the sockets and the storage.

export interface AcceptedMessage {
	id: number;
	sender: string;
	content: string;
	clientMsgId: string | null;
	sentAt: number;
	/** Resends of it that arrived while it waited for its receipt: each is acked too. */
	resends?: number;
}

export class Unconfirmed {
	/** Per sender, in id order (ids only grow). */
	private readonly bySender = new Map<string, AcceptedMessage[]>();

	add(message: AcceptedMessage): void {
		const queue = this.bySender.get(message.sender);
		if (queue) queue.push(message);
		else this.bySender.set(message.sender, [message]);
	}

	/** The messages of `sender` that its partner now has (id ≤ upTo), removed, oldest first. */
	confirm(sender: string, upTo: number): AcceptedMessage[] {
		const queue = this.bySender.get(sender);
		if (!queue) return [];
		let n = 0;
		while (n < queue.length && (queue[n]?.id ?? Number.POSITIVE_INFINITY) <= upTo) n++;
		return queue.splice(0, n);
	}

	/** Every message relayed at or before `cutoff` (by its `sentAt`), removed, in id order. */
	takeDue(cutoff: number): AcceptedMessage[] {
		const out: AcceptedMessage[] = [];
		for (const queue of this.bySender.values()) {
			let n = 0;
			while (n < queue.length && (queue[n]?.sentAt ?? Number.POSITIVE_INFINITY) <= cutoff) n++;
			out.push(...queue.splice(0, n));
		}
		return out.sort((a, b) => a.id - b.id);
	}

	/** Every message of `sender`, removed (its partner went offline: they are stored now). */
	takeFrom(sender: string): AcceptedMessage[] {
		const queue = this.bySender.get(sender) ?? [];
		this.bySender.delete(sender);
		return queue;
	}

	/** The unconfirmed messages of `sender` with id > after, oldest first (a rejoining partner gets them again). */
	from(sender: string, after: number): AcceptedMessage[] {
		return (this.bySender.get(sender) ?? []).filter((m) => m.id > after);
	}

	/** The message of `sender` with this client_msg_id waiting for its receipt, if any. */
	byClientId(sender: string, clientMsgId: string): AcceptedMessage | undefined {
		return (this.bySender.get(sender) ?? []).find((m) => m.clientMsgId === clientMsgId);
	}

	/** When the oldest message was relayed, if any is waiting. */
	oldest(): number | null {
		let at: number | null = null;
		for (const queue of this.bySender.values()) {
			const first = queue[0];
			if (first && (at === null || first.sentAt < at)) at = first.sentAt;
		}
		return at;
	}
}
