// Which screen shows, and what the waiting, chat and ended screens say. The
// chat and the ended screen are one container (the transcript stays in place
// above the ended panel); its data-screen says which of the two it is.
import type { Snapshot } from "../flamingo-client";
import type { ChatInfo } from "./chat-memo";
import { byId, setText, show } from "./dom";
import {
	END_REASONS,
	formatElapsed,
	PARTNER_NOT_JOINED,
	PARTNER_RECONNECTING,
	partnerLine,
	WAITING_NOTES,
} from "./texts";

export type ScreenName = "start" | "waiting" | "chat" | "ended";

const INTEREST_WINDOW_MS = 10_000;

export class Screens {
	private readonly start = byId("start-form").closest("section") as HTMLElement;
	private readonly waiting = byId("waiting-title").closest("section") as HTMLElement;
	private readonly conversation = byId("conversation");
	private readonly waitingCount = byId("waiting-count");
	private readonly elapsed = byId("elapsed");
	private readonly interestNote = byId("interest-note");
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

	/** Shows `screen`; returns whether it changed. */
	show(screen: ScreenName): boolean {
		if (screen === this.current) return false;
		this.current = screen;
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
		show(this.interestNote, s.withInterests);
		if (s.withInterests) {
			setText(this.interestNote, waited < INTEREST_WINDOW_MS ? WAITING_NOTES.interests : WAITING_NOTES.anyone);
		}
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
	}

	/** `parked`: another tab has this identity; offer to take it back rather than a next stranger. */
	renderEnded(s: Snapshot, parked: boolean): void {
		setText(this.endedReason, s.endReason ? END_REASONS[s.endReason] : "The chat ended.");
		show(this.useHere, parked);
		show(this.nextStranger, !parked);
	}
}
