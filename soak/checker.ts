// The soak's verdict, pure: from what each client saw, per chat and direction,
// was every acked message delivered exactly once, in message_id order, and
// did nothing cross into another chat?
//
// The promise checked (PROTOCOL.md, Delivery guarantees, and 1.1, Delivery
// receipts): within one live chat, every message the server acked with
// `message_sent` (confirmed by the partner's client, or stored) is delivered
// to the partner once, in `message_id` order, across reconnects of either
// side within the 30 s grace period and across a restart of the server. So
// an acked message that never arrived is `lost` only when its recipient was
// still in that chat, or came back to it, after the message was acked:
//
// - the recipient was in the chat at its end: it read `chat_ended` for it on
//   its chat socket, or the chat was still live when the run stopped and the
//   recipient was connected to it (after the drain);
// - or the recipient received a later message of the same direction (a gap);
// - or the recipient rejoined the chat (read `chat_joined`) after the ack, on
//   a connection that then stayed up and unstalled long enough for the held
//   messages to arrive: it went quiet for a while before it ended
//   (`settledJoins`, soak/client.ts).
//
// Otherwise (the recipient dropped and the chat ended without it, e.g.
// `partner_disconnected` after the grace period) the message may rightly
// never arrive: it is counted as `excluded`, not as lost.
//
// Ids may jump forward after a restart (never back, never reused), so gaps
// in the ids are not losses: only acked messages are looked for.
//
// One message, two ids: a restart of the chat's object between a message's
// delivery and the moment its sender reads the ack loses what the server
// knew of it (nothing is stored while a receipt is awaited, and a receipt's
// ack that found the sender offline lives in memory); the sender resends it
// with the same `client_msg_id`, it gets a new, higher id and reaches the
// recipient again. The recipient's client drops that copy (same
// `client_msg_id`); its id still counts. The object restarts with the server
// (`CheckOptions.restarts`), and also on its own when it is evicted from
// memory while both members are offline (no socket is left to keep its
// volatile state): so a copy is allowed, and counted (`copies`,
// `droppedCopies`, and how many of them came outside any server restart),
// when its new id is higher than the old one and the sender never read an
// ack for the old one. Otherwise one message under two ids is `mismatched`.
//
// Duplicates are judged on what the recipient's client showed: a message
// its transcript showed twice (under two ids) is `duplicated`; a copy it
// dropped is not. Logs without the `shown` mark (older tests) are read as
// FlamingoClient would: a copy is shown if its message was not shown yet and
// its id is above every id received before (on a new connection, above the
// `after=N` it asked with).
//
// The same id again is judged per connection, with the `after=N` the
// connection asked with: allowed (`redelivered`) on a new connection with
// `after=N` below the id (the client asked for it), else `replayed` (the
// server sent what it had delivered already; the client drops it by id, but
// the protocol says once). Ids must rise within a connection, and a
// connection with `after=N` must bring nothing with an id ≤ N (`reordered`).
//
// No imports: this runs in Node (the soak) and in workerd (its unit tests).

export interface SendRecord {
	/** The chat the client was in when it sent (its transcript's chat). */
	chatId: string;
	content: string;
	clientMsgId: string;
	/** When the user sent it (ms, the clock of `AckRecord.at`). */
	at?: number;
}

export interface AckRecord {
	chatId: string;
	messageId: number;
	clientMsgId: string;
	/** When the client read the ack (ms, any clock shared by all clients). */
	at: number;
	/** The ack came right in front of a `message_delivered` covering it: the partner's receipt acked it. */
	viaReceipt?: boolean;
}

export interface DeliveryRecord {
	chatId: string;
	messageId: number;
	content: string;
	/** Which of the client's chat connections it came on (any number unique per connection). */
	conn: number;
	/** The `after=N` that connection asked with, or null without one. */
	after: number | null;
	/** The sender's `client_msg_id`, as `message_received` carried it. */
	clientMsgId?: string;
	/** When the client read it (ms, the clock of `AckRecord.at`). */
	at?: number;
	/** Whether the client showed it (its transcript took it); false: dropped as a copy or a replay. */
	shown?: boolean;
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

/** A restart of the server: when it began going down and when it answered again (ms, the logs' clock). */
export interface Restart {
	downAt: number;
	upAt: number;
}

export interface CheckOptions {
	/** The server's restarts during the run: only across one may a message get a second id. */
	restarts?: readonly Restart[];
	/** How many problems to keep for the report (default 50). */
	maxProblems?: number;
}

export interface Counts {
	/** Distinct messages acked to their senders. */
	acked: number;
	/** Of those, acked right in front of a `message_delivered` (through the partner's receipt, not stored). */
	ackedViaReceipt: number;
	/** Raw deliveries, duplicates and copies included. */
	delivered: number;
	/** Deliveries the recipient's client showed. */
	shown: number;
	lost: number;
	/** A message the recipient's client showed twice. */
	duplicated: number;
	reordered: number;
	/** The same message_id delivered again without being asked for (the client drops it by id). */
	replayed: number;
	leaked: number;
	/** Acks and deliveries that disagree (one message, two ids without a restart; one id, two messages; an ack for a foreign chat). */
	mismatched: number;
	/** Acked, not delivered, and the recipient was gone when its chat ended: allowed. */
	excluded: number;
	/**
	 * Delivered again because the client asked for it: on a new connection
	 * with `after=N` below the id (it had lost track of it, e.g. a reload
	 * that cleared the transcript). Allowed; reported for information.
	 */
	redelivered: number;
	/** Deliveries of a message already delivered, under a new id (resent after a restart). Allowed across a restart. */
	copies: number;
	/** Of those, the ones the client dropped (by client_msg_id): what its dedupe saved the user from. */
	droppedCopies: number;
	/** Messages that came under a second id with no server restart in their life (their chat's object restarted on its own). */
	copiedOutsideRestarts: number;
}

export type ProblemKind = "lost" | "duplicated" | "reordered" | "replayed" | "leaked" | "mismatched";

export interface Problem {
	kind: ProblemKind;
	chatId: string;
	from?: string;
	to?: string;
	messageId?: number;
	content?: string;
	detail: string;
}

export interface DirectionCounts {
	chatId: string;
	from: string;
	to: string;
	counts: Counts;
}

export interface Verdict {
	totals: Counts;
	chats: number;
	/** Chat directions (sender → recipient) with at least one acked or delivered message. */
	directions: number;
	/** Every such direction with its counts. */
	perDirection: DirectionCounts[];
	/** Directions with a non-zero lost, duplicated, reordered, replayed, leaked or mismatched count. */
	badDirections: DirectionCounts[];
	/** The first problems found, for a report (at most `maxProblems`). */
	problems: Problem[];
	/** Excluded messages by how their chat ended for the sender (`unknown`: it did not read `chat_ended`). */
	excludedBySenderEnd: Record<string, number>;
	ok: boolean;
}

const zero = (): Counts => ({
	acked: 0,
	ackedViaReceipt: 0,
	delivered: 0,
	shown: 0,
	lost: 0,
	duplicated: 0,
	reordered: 0,
	replayed: 0,
	leaked: 0,
	mismatched: 0,
	excluded: 0,
	redelivered: 0,
	copies: 0,
	droppedCopies: 0,
	copiedOutsideRestarts: 0,
});

export const FAILING: readonly ProblemKind[] = ["lost", "duplicated", "reordered", "replayed", "leaked", "mismatched"];

interface Sent {
	sender: string;
	chatId: string;
	clientMsgId: string;
	at: number | undefined;
}

interface Acked {
	sender: string;
	chatId: string;
	messageId: number;
	content: string;
	firstAckAt: number;
	viaReceipt: boolean;
}

/** `a` and `b` in a sorted list, "2 and 257". */
const both = (ids: Iterable<number>) => [...ids].sort((a, b) => a - b).join(" and ");

/** What reached the recipient of one message (by its content, unique per send). */
interface Arrival {
	/** Every id it came under, with when the last copy came. */
	ids: Set<number>;
	lastAt: number | undefined;
	shown: number;
	/** A replay or reorder was reported for it already. */
	flagged: boolean;
}

export function check(logs: readonly ClientLog[], options: CheckOptions = {}): Verdict {
	const maxProblems = options.maxProblems ?? 50;
	const restarts = options.restarts ?? [];
	const problems: Problem[] = [];
	const directions = new Map<string, DirectionCounts>();
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
							...((known.endReason ?? chat.endReason) ? { endReason: known.endReason ?? chat.endReason } : {}),
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
			sent.set(s.content, { sender: log.name, chatId: s.chatId, clientMsgId: s.clientMsgId, at: s.at });
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
				} else if (a.viaReceipt) known.viaReceipt = true;
				continue;
			}
			const entry: Acked = {
				sender: log.name,
				chatId: a.chatId,
				messageId: a.messageId,
				content: s.content,
				firstAckAt: a.at,
				viaReceipt: a.viaReceipt === true,
			};
			acked.set(key, entry);
			ackedByContent.set(s.content, entry);
		}
	}

	// Deliveries, per chat and direction, in arrival order.
	const arrivals = new Map<string, Arrival>(); // by content
	const maxDelivered = new Map<string, number>(); // `${chat}\n${to}`
	for (const log of logs) {
		// Per chat: the content under each id, and the highest id received (FlamingoClient's lastReceived).
		const byId = new Map<string, Map<number, string>>();
		const lastReceived = new Map<string, number>();
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
			const where = (what: string) => ({
				chatId: d.chatId,
				from: origin.sender,
				to: log.name,
				messageId: d.messageId,
				content: d.content,
				detail: what,
			});
			if (d.clientMsgId !== undefined && d.clientMsgId !== origin.clientMsgId) {
				report(
					{
						kind: "mismatched",
						...where(`delivered with client_msg_id ${d.clientMsgId}, sent with ${origin.clientMsgId}`),
					},
					counts,
				);
			}
			const ids = byId.get(d.chatId) ?? new Map<number, string>();
			byId.set(d.chatId, ids);
			const idHad = ids.get(d.messageId);
			if (idHad !== undefined && idHad !== d.content) {
				report(
					{ kind: "mismatched", ...where(`message_id ${d.messageId} delivered for two messages (${idHad})`) },
					counts,
				);
				continue;
			}
			const arrival = arrivals.get(d.content) ?? {
				ids: new Set<number>(),
				lastAt: undefined,
				shown: 0,
				flagged: false,
			};
			const firstArrival = !arrivals.has(d.content);
			arrivals.set(d.content, arrival);
			// A new connection's after=N is what the client said it had received.
			if (!onConn.has(d.conn) && d.after !== null) lastReceived.set(d.chatId, d.after);
			const last = lastReceived.get(d.chatId) ?? 0;
			const shown = d.shown ?? (arrival.shown === 0 && d.messageId > last);
			lastReceived.set(d.chatId, Math.max(last, d.messageId));
			arrival.ids.add(d.messageId);
			if (d.at !== undefined) arrival.lastAt = Math.max(arrival.lastAt ?? d.at, d.at);
			if (shown) {
				totals.shown++;
				if (++arrival.shown > 1) {
					report(
						{ kind: "duplicated", ...where(`shown again, as ${d.messageId} (ids ${[...arrival.ids].join(", ")})`) },
						counts,
					);
				}
			}
			const conn = onConn.get(d.conn) ?? new Set<string>();
			onConn.set(d.conn, conn);
			const sameConn = conn.has(d.content);
			conn.add(d.content);
			const asked = d.after === null || d.messageId > d.after;
			if (idHad !== undefined) {
				// The same id again.
				if (asked && d.after !== null && !sameConn) {
					counts.redelivered++;
					totals.redelivered++;
				} else {
					arrival.flagged = true;
					report(
						{
							kind: "replayed",
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
			ids.set(d.messageId, d.content);
			if (!firstArrival) {
				// The same message under a new id: a resend after a restart (judged below).
				counts.copies++;
				totals.copies++;
				if (!shown) {
					counts.droppedCopies++;
					totals.droppedCopies++;
				}
			}
			const key = `${d.chatId}\n${log.name}`;
			const maxConn = maxOnConn.get(d.conn) ?? 0;
			if (!asked) {
				arrival.flagged = true;
				report({ kind: "reordered", ...where(`delivered on a connection with after=${d.after}`) }, counts);
			} else if (d.messageId < maxConn) {
				arrival.flagged = true;
				report({ kind: "reordered", ...where(`arrived after message_id ${maxConn} on one connection`) }, counts);
			}
			maxOnConn.set(d.conn, Math.max(maxConn, d.messageId));
			maxDelivered.set(key, Math.max(maxDelivered.get(key) ?? 0, d.messageId));
		}
	}

	// One message under two ids (acked or delivered): a resend after its chat's object
	// restarted, if the sender never read an ack for the older id.
	for (const [content, arrival] of arrivals) {
		const origin = sent.get(content);
		if (!origin) continue;
		const ack = ackedByContent.get(content);
		const ids = new Set(arrival.ids);
		if (ack) ids.add(ack.messageId);
		if (ids.size < 2) continue;
		const to = recipientOf(origin.chatId, origin.sender);
		const counts = to === null ? undefined : direction(origin.chatId, origin.sender, to);
		const inOrder = [...arrival.ids].every((id, i, all) => i === 0 || id > (all[i - 1] ?? 0));
		const where = { chatId: origin.chatId, from: origin.sender, ...(to === null ? {} : { to }), content };
		if (!inOrder) {
			report(
				{ kind: "mismatched", ...where, detail: `one message under ids ${both(ids)}, the later one lower` },
				counts,
			);
			continue;
		}
		if (ack && ack.messageId < Math.max(...ids)) {
			report(
				{
					kind: "mismatched",
					...where,
					messageId: ack.messageId,
					detail: `acked as ${ack.messageId}, then delivered again under ids ${both(ids)}: an acked message got a new id`,
				},
				counts,
			);
			continue;
		}
		const from = origin.at ?? Number.NEGATIVE_INFINITY;
		const until = Math.max(arrival.lastAt ?? Number.POSITIVE_INFINITY, ack?.firstAckAt ?? Number.NEGATIVE_INFINITY);
		if (!restarts.some((r) => r.upAt >= from && r.downAt <= until)) {
			totals.copiedOutsideRestarts++;
			if (counts) counts.copiedOutsideRestarts++;
		}
	}

	// Acked messages that never arrived (under any id), or arrived and were never shown.
	const excludedBySenderEnd: Record<string, number> = {};
	for (const m of acked.values()) {
		totals.acked++;
		if (m.viaReceipt) totals.ackedViaReceipt++;
		const to = recipientOf(m.chatId, m.sender);
		if (to === null) {
			// The partner never even learned of the chat: nobody to deliver to.
			totals.excluded++;
			excludedBySenderEnd.no_partner = (excludedBySenderEnd.no_partner ?? 0) + 1;
			continue;
		}
		const counts = direction(m.chatId, m.sender, to);
		counts.acked++;
		if (m.viaReceipt) counts.ackedViaReceipt++;
		const key = `${m.chatId}\n${to}`;
		const lost = (detail: string) =>
			report(
				{ kind: "lost", chatId: m.chatId, from: m.sender, to, messageId: m.messageId, content: m.content, detail },
				counts,
			);
		const arrival = arrivals.get(m.content);
		if (arrival) {
			// Arrived: lost only if the client never showed any copy (and no replay or reorder explains why).
			if (arrival.shown > 0 || arrival.flagged) continue;
			lost(`arrived as ${[...arrival.ids].join(", ")} and was never shown`);
			continue;
		}
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
		lost(
			p?.presentAtEnd
				? "recipient was in the chat at its end"
				: (maxDelivered.get(key) ?? 0) > m.messageId
					? `a gap: message_id ${maxDelivered.get(key)} arrived`
					: "recipient rejoined after the ack",
		);
	}

	const perDirection = [...directions.values()];
	const badDirections = perDirection.filter((d) => FAILING.some((k) => d.counts[k] > 0));
	return {
		totals,
		chats: members.size,
		directions: directions.size,
		perDirection,
		badDirections,
		problems,
		excludedBySenderEnd,
		ok: FAILING.every((k) => totals[k] === 0),
	};
}

/** `lost=0 duplicated=0 reordered=0 replayed=0 leaked=0 mismatched=0 excluded=3 … dropped_copies=0` */
export function summaryLine(t: Counts): string {
	return (
		`lost=${t.lost} duplicated=${t.duplicated} reordered=${t.reordered} replayed=${t.replayed} leaked=${t.leaked} ` +
		`mismatched=${t.mismatched} excluded=${t.excluded} redelivered=${t.redelivered} ` +
		`acked=${t.acked} delivered=${t.delivered} dropped_copies=${t.droppedCopies}`
	);
}
