// The contract between the Durable Objects: what one calls on another and how
// it finds it. The objects import each other only as types (through env.ts),
// so this module is the one place that knows the Matchmaker's name.
import type { Env } from "../env";
import type { EndReason, ReportReason } from "../protocol/schemas";

/**
 * The name of the one Matchmaker (`idFromName`). Tickets carry the name of the
 * Matchmaker that sealed them (`l`), so a ChatRoom answers to the one that
 * made its chat; its Presence object has the same name.
 */
export const MATCHMAKER_NAME = "global";

/** How a ChatRoom tells the Matchmaker that a chat is over (`chatEnded`). */
export interface ChatEnd {
	reason: EndReason;
	/**
	 * Both users: a report is recorded even when the Matchmaker no longer knows
	 * the chat (dropped as unjoined before a late first join). Absent only in
	 * notices a ChatRoom stored for a retry before version 1.1.
	 */
	users?: readonly [string, string];
	/** Set when the chat ended with a report: that pair is never matched again. */
	reportedBy?: string;
	reportReason?: ReportReason;
}

export function matchmakerStub(env: Env, name: string = MATCHMAKER_NAME) {
	return env.MATCHMAKER.get(env.MATCHMAKER.idFromName(name));
}

/** The Presence object that publishes a Matchmaker's counters. */
export function presenceStub(env: Env, matchmaker: string = MATCHMAKER_NAME) {
	return env.PRESENCE.get(env.PRESENCE.idFromName(matchmaker));
}

/** A chat's object: named by its chat id, so both users' tickets lead to the same one. */
export function chatRoomStub(env: Env, chatId: string) {
	return env.CHAT_ROOM.get(env.CHAT_ROOM.idFromName(chatId));
}
