// Delivery receipts from the receiving side, pure apart from a timer: after a
// `message_received`, one `received {up_to}` goes out within RECEIPT_WITHIN_MS
// (100 ms), `up_to` being the highest message id received in this chat. A
// burst shares one frame: the first message starts a short timer, the ones
// that come before it fires only raise `up_to`.
//
// A receipt that cannot go out (the chat socket is down, the page was
// reloaded) is kept and sent once the socket is back, after `chat_joined`. A
// receipt is never sent for id 0.

/** Where a receipt goes: returns false when it could not be sent (no open socket). */
export type SendReceipt = (upTo: number) => boolean;

export interface Timers {
	set(fn: () => void, ms: number): unknown;
	clear(handle: unknown): void;
}

const globalTimers: Timers = {
	set: (fn, ms) => setTimeout(fn, ms),
	clear: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
};

export class Receipts {
	/** Highest message id received in this chat (duplicates and replays count). */
	private highest = 0;
	/** A `message_received` came that no receipt has answered yet. */
	private owed = false;
	private timer: unknown = null;

	constructor(
		private readonly send: SendReceipt,
		/** How long a receipt waits for more messages to share it; well under 100 ms. */
		private readonly delayMs = 50,
		private readonly timers: Timers = globalTimers,
	) {}

	/** The highest id a receipt would confirm now (0: none). */
	get upTo(): number {
		return this.highest;
	}

	/** Whether a receipt is waiting to go out (on its timer, or for the socket). */
	get pending(): boolean {
		return this.owed;
	}

	/** A `message_received` with this id, shown or not (a duplicate or a replay is answered too). */
	got(messageId: number): void {
		if (messageId > this.highest) this.highest = messageId;
		if (this.highest < 1) return;
		this.owed = true;
		if (this.timer === null) {
			this.timer = this.timers.set(() => {
				this.timer = null;
				this.flush();
			}, this.delayMs);
		}
	}

	/** Sends the receipt owed now, if any and if the socket takes it (before `leave_chat` or `report`, when the socket is back). */
	flush(): void {
		this.stopTimer();
		if (this.owed && this.highest >= 1 && this.send(this.highest)) this.owed = false;
	}

	/** A new chat (or none): nothing owed, nothing received. */
	reset(): void {
		this.stopTimer();
		this.owed = false;
		this.highest = 0;
	}

	/**
	 * A transcript kept from before (a reload, a rejoin through the lobby):
	 * what it received up to `highest` is confirmed again once the socket is
	 * back, since a receipt may have been lost with the old page or socket.
	 */
	restore(highest: number): void {
		if (highest > this.highest) this.highest = highest;
		if (this.highest >= 1) this.owed = true;
	}

	/** The client is closing: no timer left running; what is owed waits for the next `chat_joined`. */
	hold(): void {
		this.stopTimer();
	}

	private stopTimer(): void {
		if (this.timer !== null) this.timers.clear(this.timer);
		this.timer = null;
	}
}
