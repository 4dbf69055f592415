// A chat as the client sees it, pure: the messages shown, the ones not acked
// yet (resent by `client_msg_id` until they are), the highest message id
// received (the `after=N` of a reconnect, the `up_to` of a receipt) and the
// highest the partner confirmed (`message_delivered`). Plain data, so it can
// be kept in sessionStorage and survive a page reload.
//
// Message ids only ever grow, but not necessarily by one: after a server
// restart they may jump forward. Nothing here assumes consecutive ids.

/**
 * Our own messages go `sending` → `sent` (acked: the server is responsible for
 * it) → `delivered` (the partner confirmed it), never backwards. `refused`:
 * the server would not relay it (the first-contact link gate,
 * `link_blocked`); it is never resent. The partner's messages are `received`.
 */
export type MessageState = "sending" | "sent" | "delivered" | "refused" | "received";

const STATES: readonly string[] = ["sending", "sent", "delivered", "refused", "received"] satisfies MessageState[];

export interface ChatMessage {
	/** Our `client_msg_id` for messages we sent; `m<id>` for received ones. */
	key: string;
	mine: boolean;
	content: string;
	state: MessageState;
	/** The server's id once known. */
	messageId?: number;
	sentAt?: number;
	/** The partner's `client_msg_id` of a received message, when it gave one: a second copy is dropped by it. */
	clientMsgId?: string;
}

export interface Transcript {
	chatId: string;
	messages: ChatMessage[];
	/** Highest `message_id` received from the partner, duplicates included. */
	lastReceived: number;
	/**
	 * Highest `up_to` of a `message_delivered`: the partner has every message
	 * of ours up to this id. Absent in transcripts stored by older versions.
	 */
	deliveredUpTo?: number;
}

export function emptyTranscript(chatId: string): Transcript {
	return { chatId, messages: [], lastReceived: 0, deliveredUpTo: 0 };
}

/** Adds a message of ours, not yet acked. */
export function addOutgoing(t: Transcript, key: string, content: string): Transcript {
	return { ...t, messages: [...t.messages, { key, mine: true, content, state: "sending" }] };
}

/**
 * An ack: the message is sent, with the server's id and time (delivered at
 * once if a `message_delivered` already covered that id). Acks of unknown
 * keys, and a second ack (a resend, or an ack that comes late), change
 * nothing: a delivered message never goes back to sent. An ack wins over
 * `refused`: the server did take it.
 */
export function acked(t: Transcript, key: string, messageId: number, sentAt: number): Transcript {
	let changed = false;
	const state: MessageState = messageId > 0 && messageId <= (t.deliveredUpTo ?? 0) ? "delivered" : "sent";
	const messages = t.messages.map((m) => {
		if (!m.mine || m.key !== key || (m.state !== "sending" && m.state !== "refused")) return m;
		changed = true;
		return { ...m, state, messageId, sentAt };
	});
	return changed ? { ...t, messages } : t;
}

/**
 * `message_delivered {up_to}`: every message of ours with a known id up to
 * `upTo` is delivered. The mark is kept, so that an ack arriving after it
 * makes its message delivered at once. An `upTo` below one already seen changes nothing.
 */
export function delivered(t: Transcript, upTo: number): Transcript {
	const before = t.deliveredUpTo ?? 0;
	const deliveredUpTo = Math.max(before, upTo);
	let changed = deliveredUpTo !== before;
	const messages = t.messages.map((m) => {
		if (!m.mine || m.messageId === undefined || m.messageId > deliveredUpTo) return m;
		if (m.state !== "sending" && m.state !== "sent") return m;
		changed = true;
		return { ...m, state: "delivered" as const };
	});
	return changed ? { ...t, messages, deliveredUpTo } : t;
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

/**
 * A message from the partner. One already seen is ignored: by its id (a
 * replay after `after=N`), or by the sender's `client_msg_id` (the same
 * message under a new id, resent after a server restart that lost it between
 * delivery and receipt). A copy found by `client_msg_id` is not shown again,
 * but its id still counts as received: for `after=N` and for the receipt.
 */
export function received(
	t: Transcript,
	messageId: number,
	content: string,
	sentAt: number,
	clientMsgId?: string,
): Transcript {
	if (messageId <= t.lastReceived) return t;
	if (clientMsgId !== undefined && t.messages.some((m) => !m.mine && m.clientMsgId === clientMsgId)) {
		return { ...t, lastReceived: messageId };
	}
	const message: ChatMessage = { key: `m${messageId}`, mine: false, content, state: "received", messageId, sentAt };
	if (clientMsgId !== undefined) message.clientMsgId = clientMsgId;
	return { ...t, lastReceived: messageId, messages: [...t.messages, message] };
}

/** Messages of ours still waiting for their ack, oldest first: what a reconnect resends. */
export function unacked(t: Transcript): ChatMessage[] {
	return t.messages.filter((m) => m.mine && m.state === "sending");
}

const optional = (value: unknown, type: "string" | "number") => value === undefined || typeof value === type;

/**
 * Whether a value read back from storage is a transcript (it may be stale or
 * tampered with). Transcripts stored by older versions (no `deliveredUpTo`,
 * no `clientMsgId`) are still read.
 */
export function isTranscript(value: unknown): value is Transcript {
	if (typeof value !== "object" || value === null) return false;
	const t = value as Partial<Transcript>;
	return (
		typeof t.chatId === "string" &&
		typeof t.lastReceived === "number" &&
		optional(t.deliveredUpTo, "number") &&
		Array.isArray(t.messages) &&
		t.messages.every(
			(m) =>
				typeof m === "object" &&
				m !== null &&
				typeof m.key === "string" &&
				typeof m.content === "string" &&
				typeof m.mine === "boolean" &&
				STATES.includes(m.state) &&
				optional(m.messageId, "number") &&
				optional(m.clientMsgId, "string"),
		)
	);
}
