// Message ids without a write per message: ids are reserved in blocks, one
// stored number ("every id below this may have been handed out") per block.
// A restart resumes above the reservation, so ids jump forward and are never
// reused (PROTOCOL.md 1.1); hibernation does not jump, because the next id
// also rides in the sockets' attachments.
//
// The reservation runs ahead of the ids handed out by half a block, so that
// it is durable long before an id under it reaches anyone: a message is
// relayed before the write that follows it commits.

export const ID_BLOCK = 256;
const LOW_WATER = ID_BLOCK / 2;

export class MessageIds {
	constructor(
		/** The next id to hand out. */
		private nextId: number,
		/** Ids below this are covered by a durable reservation. */
		private reservedBelow: number,
	) {}

	/** The first reservation of a chat: one block, written with the chat itself. */
	static fresh(): MessageIds {
		return new MessageIds(1, 1 + ID_BLOCK);
	}

	get next(): number {
		return this.nextId;
	}

	get reserved(): number {
		return this.reservedBelow;
	}

	/**
	 * The next id, and the new reservation to store after relaying it, when
	 * the reservation must move (null otherwise: nothing to write).
	 */
	take(): { id: number; reserve: number | null } {
		const id = this.nextId++;
		return { id, reserve: this.ahead() };
	}

	/**
	 * A new reservation to store when fewer than half a block of reserved ids
	 * is left, else null. After a restart the next id is the old reservation
	 * itself, so this must be stored before that id is handed out.
	 */
	ahead(): number | null {
		if (this.nextId + LOW_WATER <= this.reservedBelow) return null;
		// A block further (one write per ID_BLOCK ids), and after a restart at least half a block ahead.
		this.reservedBelow = Math.max(this.reservedBelow + ID_BLOCK, this.nextId + LOW_WATER);
		return this.reservedBelow;
	}
}
