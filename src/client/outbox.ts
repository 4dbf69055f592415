// Our messages on their way to the server. The transcript keeps every message
// not acked yet (so a reload still has them); this keeps which of them were
// written to the current chat socket, and paces the writes a little below the
// server's 5/s (bursts of 10) so that it never has to refuse one. Resends
// reuse the `client_msg_id`, so the server delivers each message once.
import { TokenBucket } from "../domain/limits/token-bucket";
import type { ChatMessage, Transcript } from "./transcript";
import { unacked } from "./transcript";

const SEND_PACE = { ratePerSec: 4, burst: 8 };

export interface OutboxWiring {
	/** The transcript, when the chat socket is joined and open (else nothing is written). */
	writable: () => Transcript | null;
	write: (message: ChatMessage, chatId: string) => void;
}

export class Outbox {
	/** Written to the current chat socket and not acked yet, by client_msg_id. */
	private readonly inFlight = new Set<string>();
	private budget = new TokenBucket(SEND_PACE, Date.now());
	private timer: ReturnType<typeof setTimeout> | null = null;

	constructor(private readonly wiring: OutboxWiring) {}

	/** Writes the unacked messages not in flight, oldest first, as far as the pacing allows; the rest when a token is due. */
	pump(): void {
		const t = this.wiring.writable();
		if (!t) return;
		for (const m of unacked(t)) {
			if (this.inFlight.has(m.key)) continue;
			const wait = this.budget.take(Date.now());
			if (wait > 0) {
				this.pumpLater(wait);
				return;
			}
			this.inFlight.add(m.key);
			this.wiring.write(m, t.chatId);
		}
	}

	/** A new chat socket: whatever was in flight on the old one may be lost, so it goes again. */
	newSocket(): void {
		this.inFlight.clear();
	}

	acked(key: string): void {
		this.inFlight.delete(key);
	}

	/**
	 * The server refused one of the messages in flight as too fast; which one
	 * it does not say, so all of them go again (idempotent), from an empty
	 * budget as the server's is: the first token comes after 1/4 s, no sooner
	 * than the server's retry_after_ms (1/5 s).
	 */
	rateLimited(): void {
		this.inFlight.clear();
		this.budget = new TokenBucket(SEND_PACE, Date.now(), 0);
		this.pump();
	}

	/**
	 * The first-contact link gate refused a message. The error does not say
	 * which, but the server answers a socket's frames in order, so it is the
	 * oldest one still in flight; it is taken out and never resent.
	 */
	takeOldestInFlight(t: Transcript): string | undefined {
		const oldest = unacked(t).find((m) => this.inFlight.has(m.key));
		if (oldest) this.inFlight.delete(oldest.key);
		return oldest?.key;
	}

	private pumpLater(ms: number): void {
		if (this.timer !== null) return;
		this.timer = setTimeout(() => {
			this.timer = null;
			this.pump();
		}, ms);
	}
}
