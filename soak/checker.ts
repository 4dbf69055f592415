// The soak's verdict, pure: from what each client saw, per chat and direction,
// was every acked message delivered exactly once, in message_id order, and
// did nothing cross into another chat?
//
// The promise checked (PROTOCOL.md, Delivery guarantees): within one live
// chat, every message the server acked with `message_sent` is delivered to
// the partner once, in `message_id` order, across reconnects of either side
// within the 30 s grace period. So an acked message that never arrived is
// `lost` only when its recipient was still in that chat, or came back to it,
// after the message was acked:
//
// - the recipient was in the chat at its end: it read `chat_ended` for it on
//   its chat socket, or the chat was still live when the run stopped and the
//   recipient was connected to it (after the drain);
// - or the recipient received a later message of the same direction (a gap);
// - or the recipient rejoined the chat (read `chat_joined`) after the ack, on
//   a connection that then stayed up and unstalled long enough for the held
//   messages to arrive (`settledJoins`).
//
// Otherwise (the recipient dropped and the chat ended without it, e.g.
// `partner_disconnected` after the grace period) the message may rightly
// never arrive: it is counted as `excluded`, not as lost.
//
// Duplicates and order are judged per connection, with the `after=N` the
// connection asked with: a message delivered again is `duplicated` unless the
// client asked for it (a new connection with `after=N` below its id: then it
// is `redelivered`, allowed). Ids must rise within a connection, and a
// connection with `after=N` must bring nothing with an id ≤ N (`reordered`).
//
// No imports: this runs in Node (the soak) and in workerd (its unit tests).

export interface SendRecord {
	/** The chat the client was in when it sent (its transcript's chat). */
	chatId: string;
	content: string;
	clientMsgId: string;
}

export interface AckRecord {
	chatId: string;
	messageId: number;
	clientMsgId: string;
	/** When the client read the ack (ms, any clock shared by all clients). */
	at: number;
}

export interface DeliveryRecord {
	chatId: string;
	messageId: number;
	content: string;
	/** Which of the client's chat connections it came on (any number unique per connection). */
	conn: number;
	/** The `after=N` that connection asked with, or null without one. */
	after: number | null;
}

export interface ChatPresence {
	chatId: string;
	/** In the chat at its end: read `chat_ended` for it, or connected to it when the run stopped. */
	presentAtEnd: boolean;
	/** When `chat_joined` was read on connections that then stayed up long enough to receive held messages. */
	settledJoins: number[];
	/** How the chat ended for this client, when it read `chat_ended` (for the report). */
	endReason?: string;
}

export interface ClientLog {
	name: string;
	sends: SendRecord[];
	acks: AckRecord[];
	/** Every raw `message_received`, in arrival order, duplicates included. */
	deliveries: DeliveryRecord[];
	/** Every chat the client was matched into or rejoined. */
	chats: ChatPresence[];
}

export interface Counts {
	/** Distinct messages acked to their senders. */
	acked: number;
	/** Raw deliveries, duplicates included. */
	delivered: number;
	lost: number;
	duplicated: number;
	reordered: number;
	leaked: number;
	/** Acks and deliveries that disagree (one message, two ids; one id, two messages; an ack for a foreign chat). */
	mismatched: number;
	/** Acked, not delivered, and the recipient was gone when its chat ended: allowed. */
	excluded: number;
	/**
	 * Delivered again because the client asked for it: on a new connection
	 * with `after=N` below the id (it had lost track of it, e.g. a reload
	 * that cleared the transcript). Allowed; reported for information.
	 */
	redelivered: number;
}

export interface Problem {
	kind: "lost" | "duplicated" | "reordered" | "leaked" | "mismatched";
	chatId: string;
	from?: string;
	to?: string;
	messageId?: number;
	content?: string;
	detail: string;
}

export interface Verdict {
	totals: Counts;
	chats: number;
	/** Chat directions (sender → recipient) with at least one acked or delivered message. */
	directions: number;
	/** Directions with a non-zero lost, duplicated, reordered, leaked or mismatched count. */
	badDirections: { chatId: string; from: string; to: string; counts: Counts }[];
	/** The first problems found, for a report (at most `maxProblems`). */
	problems: Problem[];
	/** Excluded messages by how their chat ended for the sender (`unknown`: it did not read `chat_ended`). */
	excludedBySenderEnd: Record<string, number>;
	ok: boolean;
}

const zero = (): Counts => ({
	acked: 0,
	delivered: 0,
	lost: 0,
	duplicated: 0,
	reordered: 0,
	leaked: 0,
	mismatched: 0,
	excluded: 0,
	redelivered: 0,
});

const FAILING: (keyof Counts)[] = ["lost", "duplicated", "reordered", "leaked", "mismatched"];

interface Sent {
	sender: string;
	chatId: string;
	clientMsgId: string;
}

interface Acked {
	sender: string;
	chatId: string;
	messageId: number;
	content: string;
	firstAckAt: number;
}

export function check(logs: readonly ClientLog[], maxProblems = 50): Verdict {
	const problems: Problem[] = [];
	const directions = new Map<string, { chatId: string; from: string; to: string; counts: Counts }>();
	const totals = zero();
	const report = (p: Problem, counts?: Counts) => {
		totals[p.kind]++;
		if (counts) counts[p.kind]++;
		if (problems.length < maxProblems) problems.push(p);
	};

	// Who was in which chat.
	const members = new Map<string, Set<string>>();
	const presence = new Map<string, ChatPresence>(); // `${client}\n${chat}`
	for (const log of logs) {
		for (const chat of log.chats) {
			const set = members.get(chat.chatId) ?? new Set<string>();
			set.add(log.name);
			members.set(chat.chatId, set);
			const key = `${log.name}\n${chat.chatId}`;
			const known = presence.get(key);
			presence.set(
				key,
				known
					? {
							chatId: chat.chatId,
							presentAtEnd: known.presentAtEnd || chat.presentAtEnd,
							settledJoins: [...known.settledJoins, ...chat.settledJoins],
						}
					: chat,
			);
		}
	}
	for (const [chatId, set] of members) {
		if (set.size > 2) {
			report({ kind: "leaked", chatId, detail: `${set.size} clients in one chat: ${[...set].join(", ")}` });
		}
	}
	const recipientOf = (chatId: string, sender: string): string | null => {
		for (const m of members.get(chatId) ?? []) if (m !== sender) return m;
		return null;
	};
	const direction = (chatId: string, from: string, to: string): Counts => {
		const key = `${chatId}\n${from}\n${to}`;
		let d = directions.get(key);
		if (!d) {
			d = { chatId, from, to, counts: zero() };
			directions.set(key, d);
		}
		return d.counts;
	};

	// Every message sent, by its content (unique per send), and what was acked.
	const sent = new Map<string, Sent>();
	const acked = new Map<string, Acked>(); // `${chat}\n${messageId}`
	const ackedByContent = new Map<string, Acked>();
	for (const log of logs) {
		const byKey = new Map<string, SendRecord>();
		for (const s of log.sends) {
			byKey.set(s.clientMsgId, s);
			sent.set(s.content, { sender: log.name, chatId: s.chatId, clientMsgId: s.clientMsgId });
		}
		const idOfKey = new Map<string, number>();
		for (const a of log.acks) {
			const s = byKey.get(a.clientMsgId);
			if (!s || s.chatId !== a.chatId) {
				report({
					kind: "mismatched",
					chatId: a.chatId,
					from: log.name,
					messageId: a.messageId,
					detail: s
						? `ack in chat ${a.chatId} for a message sent in chat ${s.chatId}`
						: `ack for client_msg_id ${a.clientMsgId}, never sent`,
				});
				continue;
			}
			const earlierId = idOfKey.get(a.clientMsgId);
			if (earlierId !== undefined && earlierId !== a.messageId) {
				report({
					kind: "mismatched",
					chatId: a.chatId,
					from: log.name,
					messageId: a.messageId,
					content: s.content,
					detail: `client_msg_id ${a.clientMsgId} acked as ${earlierId} and as ${a.messageId}`,
				});
				continue;
			}
			idOfKey.set(a.clientMsgId, a.messageId);
			const key = `${a.chatId}\n${a.messageId}`;
			const known = acked.get(key);
			if (known) {
				if (known.content !== s.content || known.sender !== log.name) {
					report({
						kind: "mismatched",
						chatId: a.chatId,
						from: log.name,
						messageId: a.messageId,
						content: s.content,
						detail: `message_id ${a.messageId} acked for two messages (${known.content}, ${s.content})`,
					});
				}
				continue;
			}
			const entry: Acked = {
				sender: log.name,
				chatId: a.chatId,
				messageId: a.messageId,
				content: s.content,
				firstAckAt: a.at,
			};
			acked.set(key, entry);
			ackedByContent.set(s.content, entry);
		}
	}

	// Deliveries, per chat and direction, in arrival order.
	const delivered = new Map<string, Set<number>>(); // `${chat}\n${to}` → ids
	const maxDelivered = new Map<string, number>(); // `${chat}\n${to}`
	for (const log of logs) {
		const seenContent = new Set<string>();
		const onConn = new Map<number, Set<string>>(); // connection → contents it brought
		const maxOnConn = new Map<number, number>(); // connection → highest id it brought
		for (const d of log.deliveries) {
			totals.delivered++;
			const origin = sent.get(d.content);
			const inChat = members.get(d.chatId)?.has(log.name) ?? false;
			if (!origin || origin.chatId !== d.chatId || origin.sender === log.name || !inChat) {
				report({
					kind: "leaked",
					chatId: d.chatId,
					to: log.name,
					messageId: d.messageId,
					content: d.content,
					detail: !origin
						? "a message nobody sent"
						: origin.sender === log.name
							? "the recipient's own message"
							: !inChat
								? "delivered to a client not in this chat"
								: `sent in chat ${origin.chatId}`,
				});
				continue;
			}
			const counts = direction(d.chatId, origin.sender, log.name);
			counts.delivered++;
			const ack = ackedByContent.get(d.content);
			if (ack && ack.messageId !== d.messageId) {
				report(
					{
						kind: "mismatched",
						chatId: d.chatId,
						from: origin.sender,
						to: log.name,
						messageId: d.messageId,
						content: d.content,
						detail: `acked as ${ack.messageId}, delivered as ${d.messageId}`,
					},
					counts,
				);
			}
			const key = `${d.chatId}\n${log.name}`;
			const ids = delivered.get(key) ?? new Set<number>();
			delivered.set(key, ids);
			const where = (what: string) => ({
				chatId: d.chatId,
				from: origin.sender,
				to: log.name,
				messageId: d.messageId,
				content: d.content,
				detail: what,
			});
			const conn = onConn.get(d.conn) ?? new Set<string>();
			onConn.set(d.conn, conn);
			const sameConn = conn.has(d.content);
			conn.add(d.content);
			const again = ids.has(d.messageId) || seenContent.has(d.content);
			const asked = d.after === null || d.messageId > d.after;
			if (again) {
				if (asked && d.after !== null && !sameConn) {
					counts.redelivered++;
					totals.redelivered++;
				} else {
					report(
						{
							kind: "duplicated",
							...where(
								sameConn
									? "delivered twice on one connection"
									: d.after === null
										? "delivered again on a connection without after=N"
										: `delivered again on a connection with after=${d.after}`,
							),
						},
						counts,
					);
				}
				continue;
			}
			ids.add(d.messageId);
			seenContent.add(d.content);
			const maxConn = maxOnConn.get(d.conn) ?? 0;
			if (!asked) {
				report({ kind: "reordered", ...where(`delivered on a connection with after=${d.after}`) }, counts);
			} else if (d.messageId < maxConn) {
				report({ kind: "reordered", ...where(`arrived after message_id ${maxConn} on one connection`) }, counts);
			}
			maxOnConn.set(d.conn, Math.max(maxConn, d.messageId));
			maxDelivered.set(key, Math.max(maxDelivered.get(key) ?? 0, d.messageId));
		}
	}

	// Acked messages that never arrived.
	const excludedBySenderEnd: Record<string, number> = {};
	for (const m of acked.values()) {
		totals.acked++;
		const to = recipientOf(m.chatId, m.sender);
		if (to === null) {
			// The partner never even learned of the chat: nobody to deliver to.
			totals.excluded++;
			excludedBySenderEnd.no_partner = (excludedBySenderEnd.no_partner ?? 0) + 1;
			continue;
		}
		const counts = direction(m.chatId, m.sender, to);
		counts.acked++;
		const key = `${m.chatId}\n${to}`;
		if (delivered.get(key)?.has(m.messageId)) continue;
		const p = presence.get(`${to}\n${m.chatId}`);
		const mustArrive =
			(p?.presentAtEnd ?? false) ||
			(maxDelivered.get(key) ?? 0) > m.messageId ||
			(p?.settledJoins.some((at) => at > m.firstAckAt) ?? false);
		if (!mustArrive) {
			counts.excluded++;
			totals.excluded++;
			const end = presence.get(`${m.sender}\n${m.chatId}`)?.endReason ?? "unknown";
			excludedBySenderEnd[end] = (excludedBySenderEnd[end] ?? 0) + 1;
			continue;
		}
		report(
			{
				kind: "lost",
				chatId: m.chatId,
				from: m.sender,
				to,
				messageId: m.messageId,
				content: m.content,
				detail: p?.presentAtEnd
					? "recipient was in the chat at its end"
					: (maxDelivered.get(key) ?? 0) > m.messageId
						? `a gap: message_id ${maxDelivered.get(key)} arrived`
						: "recipient rejoined after the ack",
			},
			counts,
		);
	}

	const badDirections = [...directions.values()].filter((d) => FAILING.some((k) => d.counts[k] > 0));
	return {
		totals,
		chats: members.size,
		directions: directions.size,
		badDirections,
		problems,
		excludedBySenderEnd,
		ok: FAILING.every((k) => totals[k] === 0),
	};
}

/** `lost=0 duplicated=0 reordered=0 leaked=0 mismatched=0 excluded=3 redelivered=0 acked=… delivered=…` */
export function summaryLine(t: Counts): string {
	return (
		`lost=${t.lost} duplicated=${t.duplicated} reordered=${t.reordered} leaked=${t.leaked} ` +
		`mismatched=${t.mismatched} excluded=${t.excluded} redelivered=${t.redelivered} ` +
		`acked=${t.acked} delivered=${t.delivered}`
	);
}
