// A chat as the client sees it, pure: the messages shown, the ones not acked
// yet (resent by `client_msg_id` until they are), and the highest message id
// received (the `after=N` of a reconnect). Plain data, so it can be kept in
// sessionStorage and survive a page reload.

/**
 * `refused`: the server would not relay it (the first-contact link gate,
 * `link_blocked`); it is never resent.
 */
export type MessageState = "sending" | "sent" | "refused" | "received";

export interface ChatMessage {
	/** Our `client_msg_id` for messages we sent; `m<id>` for received ones. */
	key: string;
	mine: boolean;
	content: string;
	state: MessageState;
	/** The server's id once known. */
	messageId?: number;
	sentAt?: number;
}

export interface Transcript {
	chatId: string;
	messages: ChatMessage[];
	/** Highest `message_id` received from the partner. */
	lastReceived: number;
}

export function emptyTranscript(chatId: string): Transcript {
	return { chatId, messages: [], lastReceived: 0 };
}

/** Adds a message of ours, not yet acked. */
export function addOutgoing(t: Transcript, key: string, content: string): Transcript {
	return { ...t, messages: [...t.messages, { key, mine: true, content, state: "sending" }] };
}

/**
 * An ack: the message is sent, with the server's id and time. Acks of unknown
 * keys change nothing. An ack wins over `refused`: the server did take it.
 */
export function acked(t: Transcript, key: string, messageId: number, sentAt: number): Transcript {
	let changed = false;
	const messages = t.messages.map((m) => {
		if (!m.mine || m.key !== key || m.state === "sent") return m;
		changed = true;
		return { ...m, state: "sent" as const, messageId, sentAt };
	});
	return changed ? { ...t, messages } : t;
}

/** The server refused one of our messages: it stays in the list, marked, and is never resent. */
export function refused(t: Transcript, key: string): Transcript {
	let changed = false;
	const messages = t.messages.map((m) => {
		if (!m.mine || m.key !== key || m.state !== "sending") return m;
		changed = true;
		return { ...m, state: "refused" as const };
	});
	return changed ? { ...t, messages } : t;
}

/** A message from the partner; one already seen (a resend after `after=N`) is ignored. */
export function received(t: Transcript, messageId: number, content: string, sentAt: number): Transcript {
	if (messageId <= t.lastReceived) return t;
	return {
		...t,
		lastReceived: messageId,
		messages: [...t.messages, { key: `m${messageId}`, mine: false, content, state: "received", messageId, sentAt }],
	};
}

/** Messages of ours still waiting for their ack, oldest first: what a reconnect resends. */
export function unacked(t: Transcript): ChatMessage[] {
	return t.messages.filter((m) => m.mine && m.state === "sending");
}

/** Whether a value read back from storage is a transcript (it may be stale or tampered with). */
export function isTranscript(value: unknown): value is Transcript {
	if (typeof value !== "object" || value === null) return false;
	const t = value as Partial<Transcript>;
	return (
		typeof t.chatId === "string" &&
		typeof t.lastReceived === "number" &&
		Array.isArray(t.messages) &&
		t.messages.every(
			(m) =>
				typeof m === "object" &&
				m !== null &&
				typeof m.key === "string" &&
				typeof m.content === "string" &&
				typeof m.mine === "boolean" &&
				(m.state === "sending" || m.state === "sent" || m.state === "refused" || m.state === "received"),
		)
	);
}
