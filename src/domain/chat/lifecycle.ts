// When a chat ends and what each side is told, pure: the ChatRoom feeds it the
// chat's state and the clock and carries out the answer.
import type { Timings } from "../../config";
import type { EndReason, ReportReason } from "../../protocol/schemas";

/** What is stored of a member (one JSON column of the chat's row). */
export interface StoredMember {
	/** Ever connected to this chat. */
	joined: boolean;
	/** Highest message id written to this member's socket. */
	delivered: number;
	/** When this member's chat socket closed, while it stays closed. */
	offlineSince: number | null;
}

/**
 * A member as the ChatRoom knows it. The fields beyond `StoredMember` cost
 * no writes: they ride in the sockets' attachments through hibernation and
 * are rebuilt from the stored messages after a restart.
 */
export interface Member extends StoredMember {
	/** Messages this member sent that the chat accepted (the link gate counts them). */
	sent: number;
	/** Highest id of a message this member sent. */
	lastSent: number;
	/** Highest `received.up_to` this member sent. */
	confirmed: number;
	/** Whether this member's client sends receipts: unknown (null) until it does, or until one is overdue. */
	receipts: boolean | null;
}

export function newMember(): Member {
	return { joined: false, delivered: 0, offlineSince: null, sent: 0, lastSent: 0, confirmed: 0, receipts: null };
}

export interface ChatState {
	chatId: string;
	/** Exactly the two users the chat was made for. */
	users: readonly [string, string];
	matchedAt: number;
	/** The name of the Matchmaker that made the match and must hear when it ends (stored as `lobby`). */
	lobby: string;
	/**
	 * The two members: a chat has exactly two. `a` is `users[0]`, `b` is
	 * `users[1]` (as the chat's row stores them, `user_a` and `user_b`).
	 */
	members: { a: Member; b: Member };
}

/** A member's side of the chat: `a` for `users[0]`, `b` for `users[1]`. */
export type Side = "a" | "b";

export type EndCause =
	| { kind: "left"; by: string }
	| { kind: "reported"; by: string; reason: ReportReason }
	| { kind: "disconnected"; who: string }
	| { kind: "abandoned" }
	| { kind: "expired" };

export function partnerOf(state: ChatState, user: string): string {
	return state.users[0] === user ? state.users[1] : state.users[0];
}

/** The users of the chat with their sides, in the order of `users`. */
export function bySide(state: ChatState): readonly [[Side, string], [Side, string]] {
	return [
		["a", state.users[0]],
		["b", state.users[1]],
	];
}

/** Which of the two `user` is; a user not in the chat is a bug (tickets are checked). */
function sideOf(state: ChatState, user: string): Side {
	if (state.users[0] === user) return "a";
	if (state.users[1] === user) return "b";
	throw new Error(`${user} is not in chat ${state.chatId}`);
}

/** The member `user` is. */
export function memberOf(state: ChatState, user: string): Member {
	return state.members[sideOf(state, user)];
}

/** The member `user` is ("me") and the other one ("partner", with its user id). */
export function sides(state: ChatState, user: string): { me: Member; partner: Member; partnerId: string } {
	const mine = sideOf(state, user);
	return mine === "a"
		? { me: state.members.a, partner: state.members.b, partnerId: state.users[1] }
		: { me: state.members.b, partner: state.members.a, partnerId: state.users[0] };
}

/** What each user is told in `chat_ended`. */
export function endReasons(state: ChatState, cause: EndCause): Record<string, EndReason> {
	switch (cause.kind) {
		case "left":
			return { [cause.by]: "you_left", [partnerOf(state, cause.by)]: "partner_left" };
		case "reported":
			// The reported side is not told it was reported.
			return { [cause.by]: "you_reported", [partnerOf(state, cause.by)]: "partner_left" };
		case "disconnected":
			return { [cause.who]: "partner_disconnected", [partnerOf(state, cause.who)]: "partner_disconnected" };
		case "abandoned":
		case "expired":
			// A chat at the end of its lifetime is over for both, as one nobody opened.
			return { [state.users[0]]: "abandoned", [state.users[1]]: "abandoned" };
	}
}

/** The reason the Matchmaker records (from the point of view of whoever acted). */
export function causeReason(cause: EndCause): EndReason {
	switch (cause.kind) {
		case "left":
			return "you_left";
		case "reported":
			return "you_reported";
		case "disconnected":
			return "partner_disconnected";
		case "abandoned":
		case "expired":
			return "abandoned";
	}
}

const bothJoined = (state: ChatState) => state.members.a.joined && state.members.b.joined;

/** The deadlines that can end the chat without anyone acting, earliest first. */
function deadlines(state: ChatState, t: Timings): { at: number; cause: EndCause }[] {
	const out: { at: number; cause: EndCause }[] = [{ at: state.matchedAt + t.maxChatMs, cause: { kind: "expired" } }];
	if (!bothJoined(state)) out.push({ at: state.matchedAt + t.abandonMs, cause: { kind: "abandoned" } });
	for (const [side, who] of bySide(state)) {
		const since = state.members[side].offlineSince;
		if (since !== null) out.push({ at: since + t.graceMs, cause: { kind: "disconnected", who } });
	}
	return out.sort((a, b) => a.at - b.at);
}

/** The cause that ends the chat now, if a deadline has passed. */
export function dueEnd(state: ChatState, now: number, t: Timings): EndCause | null {
	const first = deadlines(state, t)[0];
	return first && first.at <= now ? first.cause : null;
}

/** When the next deadline falls, if any. */
export function nextDeadline(state: ChatState, t: Timings): number | null {
	return deadlines(state, t)[0]?.at ?? null;
}
