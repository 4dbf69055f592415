// Every sentence the app shows, in plain words.

import type { AgeBand, Gender } from "../../protocol/schemas";
import type { ClientEndReason, MessageState } from "../flamingo-client";
import { languageName } from "./language";

export const END_REASONS: Record<ClientEndReason, string> = {
	you_left: "You ended the chat.",
	partner_left: "The stranger left.",
	you_reported: "You reported the stranger. You won't be matched again.",
	partner_disconnected: "The stranger lost their connection.",
	abandoned: "The chat never started.",
	ended_while_away: "The chat ended while you were away.",
	replaced: "Flamingo Chat is open in another tab.",
};

export const GENDER_NAMES: Record<Gender, string> = { male: "Male", female: "Female", other: "Other" };

export const STATUS = {
	connecting: "Connecting…",
	reconnecting: "Reconnecting…",
	ready: "Connected. Choose who to talk to and press Start.",
	age: "Tell us your age group to continue.",
	looking: "Looking for a stranger…",
	joining: "Connecting to the stranger…",
	chatting: "Connected to a stranger",
	partnerAway: "Connected. The stranger is reconnecting…",
	partnerNotYet: "Connected. Waiting for the stranger to join…",
	ended: "Chat ended",
	elsewhere: "Flamingo Chat is open in another tab. Press Start to use it here instead.",
	stillLost: "Still reconnecting… If this lasts, reload the page.",
} as const;

export const PARTNER_RECONNECTING = "Stranger reconnecting…";
export const PARTNER_NOT_JOINED = "Waiting for the stranger to join…";

export const WAITING_NOTES = {
	interests: "Looking for someone who shares your interests…",
	anyone: "Now trying anyone",
} as const;

/** The age group on the start screen, and who that person can meet. */
export const AGE_GROUPS: Record<AgeBand, { name: string; rule: string }> = {
	adult: { name: "18 or older", rule: "You will only be matched with adults." },
	teen: { name: "13–17", rule: "You will only be matched with other teens (13–17)." },
};

/** The line under a message of ours: how far it got (sending → sent → delivered), or that the link gate refused it. */
export const MESSAGE_STATES = {
	sending: "Sending…",
	sent: "Sent",
	delivered: "Delivered",
	refused: "Not sent",
} as const satisfies Record<Exclude<MessageState, "received">, string>;

/** The ended screen's Report (the lobby's `report`, for 5 minutes after the end), and the report panel's words for each opener. */
export const REPORT_ENDED = {
	label: "Report",
	done: "Reported",
	announced: "Reported. You won't be matched with this stranger again.",
} as const;

export const REPORT_PANEL = {
	chat: { title: "Report this stranger? The chat ends and you are never matched again.", confirm: "Report and end" },
	ended: { title: "Report this stranger? You are never matched again.", confirm: "Report" },
} as const;

/** The tab's title while the page is hidden (tab-title.ts). */
export const TAB_TITLES = {
	matched: (plain: string) => `Stranger found · ${plain}`,
	unread: (count: number, plain: string) => `(${count}) ${plain}`,
} as const;

/** The notification of a match while the tab is hidden (notify.ts). */
export const NOTIFY = {
	title: "Stranger found",
	body: "Say hi on Flamingo Chat.",
	blocked: "Notifications are blocked for this site in your browser's settings.",
} as const;

export const LINK_BLOCKED =
	"Links and contact details are blocked for the first 30 seconds and your first 3 messages — get to know each other first.";

export const CHALLENGE_NOTE = "Checking your connection… (a quick puzzle to keep bots out)";

export const NEXT_LABEL = "Next";
export const NEXT_ARMED_LABEL = "Really?";
export const NEXT_ARMED_HINT = "Press Next or Escape again to leave this chat.";

export const INTEREST_HINTS = {
	normal: "Press Enter to add one. Someone who shares one is tried first, for 10 seconds.",
	tooLong: "An interest is at most 32 characters.",
	tooMany: "That's 5 already, the most you can add.",
} as const;

const listFormat = new Intl.ListFormat("en", { type: "conjunction" });

/** The line under "Stranger": their gender, their language if they gave one, and what you both like. */
export function partnerLine(
	gender: Gender,
	shared: readonly string[],
	withInterests: boolean,
	language?: string,
): string {
	const name = language ? `${GENDER_NAMES[gender]} · Speaks ${languageName(language)}` : GENDER_NAMES[gender];
	if (shared.length > 0) return `${name} · You both like ${listFormat.format(shared)}`;
	return withInterests ? `${name} · No shared interests` : name;
}

/** A server or client error in words a person understands; the server's own message otherwise. */
export function errorText(error: { code: string; message: string }): string {
	switch (error.code) {
		case "rate_limited":
			return "That was a bit fast. Trying again in a moment…";
		case "invalid_solution":
			return "The connection check did not go through. Trying again…";
		case "internal":
			return `Something went wrong on the server: ${error.message}`;
		default:
			return error.message;
	}
}

/** m:ss, or h:mm:ss after an hour. */
export function formatElapsed(ms: number): string {
	const total = Math.max(0, Math.floor(ms / 1000));
	const h = Math.floor(total / 3600);
	const m = Math.floor((total % 3600) / 60);
	const s = String(total % 60).padStart(2, "0");
	return h > 0 ? `${h}:${String(m).padStart(2, "0")}:${s}` : `${m}:${s}`;
}
