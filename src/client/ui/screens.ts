// Which screen shows, and what the waiting, chat and ended screens say. The
// chat and the ended screen are one container (the transcript stays in place
// above the ended panel); its data-screen says which of the two it is.
import type { ChatMessage, Snapshot } from "../flamingo-client";
import type { ChatInfo } from "./chat-memo";
import { byId, setText, show } from "./dom";
import {
	CHALLENGE_NOTE,
	END_REASONS,
	formatElapsed,
	LINK_BLOCKED,
	PARTNER_NOT_JOINED,
	PARTNER_RECONNECTING,
	partnerLine,
	WAITING_NOTES,
} from "./texts";

export type ScreenName = "age" | "start" | "waiting" | "chat" | "ended";

const INTEREST_WINDOW_MS = 10_000;

export class Screens {
	private readonly age = byId("age-title").closest("section") as HTMLElement;
	private readonly start = byId("start-form").closest("section") as HTMLElement;
	private readonly waiting = byId("waiting-title").closest("section") as HTMLElement;
	private readonly conversation = byId("conversation");
	private readonly waitingFacts = byId("waiting-facts");
	private readonly waitingCount = byId("waiting-count");
	private readonly elapsed = byId("elapsed");
	private readonly interestNote = byId("interest-note");
	private readonly challenge = byId("challenge");
	private readonly challengeProgress = byId<HTMLProgressElement>("challenge-progress");
	private readonly challengeTries = byId("challenge-tries");
	private readonly linkNote = byId("link-blocked");
	private readonly partnerTitle = byId("partner-title");
	private readonly shared = byId("shared");
	private readonly partnerStatus = byId("partner-status");
	private readonly typing = byId("typing");
	private readonly actions = byId("chat-actions");
	private readonly composer = byId("composer");
	private readonly endedPanel = byId("ended-panel");
	private readonly endedReason = byId("ended-reason");
	private readonly useHere = byId("use-here");
	private readonly nextStranger = byId("next-stranger");
	current: ScreenName | null = null;

	constructor() {
		setText(byId("challenge-text"), CHALLENGE_NOTE);
		setText(this.linkNote, LINK_BLOCKED);
	}

	/** Shows `screen`; returns whether it changed. */
	show(screen: ScreenName): boolean {
		if (screen === this.current) return false;
		this.current = screen;
		show(this.age, screen === "age");
		show(this.start, screen === "start");
		show(this.waiting, screen === "waiting");
		show(this.conversation, screen === "chat" || screen === "ended");
		if (screen === "chat" || screen === "ended") this.conversation.dataset.screen = screen;
		const inChat = screen === "chat";
		show(this.actions, inChat);
		show(this.composer, inChat);
		show(this.endedPanel, screen === "ended");
		return true;
	}

	renderWaiting(s: Snapshot, now: number): void {
		setText(this.waitingCount, s.waiting === null ? "—" : String(s.waiting));
		const waited = s.queuedAt === null ? 0 : now - s.queuedAt;
		setText(this.elapsed, formatElapsed(waited));
		// Not in the queue yet while the puzzle is being solved: no count, no clock.
		show(this.waitingFacts, !s.challenge);
		show(this.interestNote, s.withInterests && !s.challenge);
		if (s.withInterests) {
			setText(this.interestNote, waited < INTEREST_WINDOW_MS ? WAITING_NOTES.interests : WAITING_NOTES.anyone);
		}
		this.renderChallenge(s.challenge);
	}

	/**
	 * The proof of work before joining. Its bar shows the chance that a
	 * solution has been found by now (1 − e^(−tries / 2^difficulty)): it moves
	 * steadily and never claims to be done before it is. Indeterminate until
	 * the first progress report.
	 */
	private renderChallenge(c: Snapshot["challenge"]): void {
		show(this.challenge, c !== null);
		if (!c) return;
		const bar = this.challengeProgress;
		if (c.tries === 0) {
			if (bar.hasAttribute("value")) bar.removeAttribute("value");
		} else {
			const percent = Math.floor(100 * (1 - Math.exp(-c.tries / 2 ** c.difficulty)));
			if (bar.value !== percent) bar.value = percent;
		}
		setText(this.challengeTries, c.tries === 0 ? "Starting…" : `${c.tries.toLocaleString("en")} tries`);
	}

	/** `chat`: what the page remembers of this chat (the partner survives a reload there). */
	renderChat(s: Snapshot, chat: ChatInfo | null): void {
		const chatting = s.phase === "chatting" && this.current === "chat";
		const partner = s.partner ?? chat?.partner ?? null;
		const withInterests = s.partner ? s.withInterests : (chat?.withInterests ?? false);
		setText(this.partnerTitle, "Stranger");
		setText(this.shared, partner ? partnerLine(partner.gender, partner.sharedInterests, withInterests) : "");
		show(this.partnerStatus, chatting && !s.partnerOnline);
		setText(this.partnerStatus, chat?.joined ? PARTNER_RECONNECTING : PARTNER_NOT_JOINED);
		show(this.typing, chatting && s.partnerOnline && s.partnerTyping);
		show(this.linkNote, this.current === "chat" && refusedLast(s) !== null);
	}

	/** `parked`: another tab has this identity; offer to take it back rather than a next stranger. */
	renderEnded(s: Snapshot, parked: boolean): void {
		setText(this.endedReason, s.endReason ? END_REASONS[s.endReason] : "The chat ended.");
		show(this.useHere, parked);
		show(this.nextStranger, !parked);
	}
}

/** Our latest message, if the link gate refused it (the explanation shows until we send another). */
export function refusedLast(s: Snapshot): ChatMessage | null {
	const messages = s.transcript?.messages ?? [];
	for (let i = messages.length - 1; i >= 0; i--) {
		const m = messages[i];
		if (m?.mine) return m.state === "refused" ? m : null;
	}
	return null;
}
