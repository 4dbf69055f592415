// Delivery receipts as the bundled client sends them (src/client/receipts.ts,
// PROTOCOL.md 1.1): after a `message_received`, one `received {up_to}` per
// chat socket within a short delay, `up_to` the highest message id received;
// messages that arrive before the timer fires share the frame. Only for
// ours: the baselines have no such protocol.
import type { Sock } from "./client.ts";

export class ReceiptSender {
	private highest = 0;
	private owed = false;
	private timer: NodeJS.Timeout | null = null;
	/** `received` frames sent so far. */
	sent = 0;
	/** Called for each `received` frame sent. */
	onSend: (() => void) | null = null;

	private readonly sock: Sock;
	private readonly delayMs: number;

	constructor(sock: Sock, delayMs: number) {
		this.sock = sock;
		this.delayMs = delayMs;
	}

	/** A `message_received` with this id. */
	got(messageId: number): void {
		if (messageId > this.highest) this.highest = messageId;
		if (this.highest < 1) return;
		this.owed = true;
		if (this.timer === null) this.timer = setTimeout(() => this.flush(), this.delayMs);
	}

	/** Sends what is owed now (the timer, or before `leave_chat` as the bundled client does). */
	flush(): void {
		if (this.timer !== null) clearTimeout(this.timer);
		this.timer = null;
		if (!this.owed || !this.sock.isOpen) return;
		this.owed = false;
		this.sent++;
		this.onSend?.();
		this.sock.send(`{"type":"received","payload":{"up_to":${this.highest}}}`);
	}

	/** Stops the timer without sending (the scenario is over). */
	stop(): void {
		if (this.timer !== null) clearTimeout(this.timer);
		this.timer = null;
	}
}
