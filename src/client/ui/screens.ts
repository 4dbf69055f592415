// Which screen shows, and what the waiting, chat and ended screens say. The
// chat and the ended screen are one container (the transcript stays in place
// above the ended panel); its data-screen says which of the two it is.
import { INTEREST_WINDOW_MS } from "../../protocol/schemas";
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

export class Screens {
	private readonly age = byId("age-title").closest("section") as HTMLElement;
	private readonly start = byId("start-form").closest("section") as HTMLElement;
	private readonly waiting = byId("waiting-title").closest("section") as HTMLElement;
	private readonly conversation = byId("conversation");
	private readonly waitingParts = {
		facts: byId("waiting-facts"),
		count: byId("waiting-count"),
		elapsed: byId("elapsed"),
		interestNote: byId("interest-note"),
	};
	/** The proof-of-work note on the waiting screen. */
	private readonly puzzle = {
		note: byId("challenge"),
		progress: byId<HTMLProgressElement>("challenge-progress"),
		tries: byId("challenge-tries"),
	};
	private readonly chatParts = {
		linkNote: byId("link-blocked"),
		partnerTitle: byId("partner-title"),
		shared: byId("shared"),
		partnerStatus: byId("partner-status"),
		typing: byId("typing"),
	};
	private readonly chatControls = [byId("chat-actions"), byId("composer")];
	private readonly endedParts = {
		panel: byId("ended-panel"),
		reason: byId("ended-reason"),
		useHere: byId("use-here"),
		nextStranger: byId("next-stranger"),
	};
	current: ScreenName | null = null;

	constructor() {
		setText(byId("challenge-text"), CHALLENGE_NOTE);
		setText(this.chatParts.linkNote, LINK_BLOCKED);
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
		for (const el of this.chatControls) show(el, inChat);
		show(this.endedParts.panel, screen === "ended");
		return true;
	}

	renderWaiting(s: Snapshot, now: number): void {
		setText(this.waitingParts.count, s.waiting === null ? "—" : String(s.waiting));
		const waited = s.queuedAt === null ? 0 : now - s.queuedAt;
		setText(this.waitingParts.elapsed, formatElapsed(waited));
		// Not in the queue yet while the puzzle is being solved: no count, no clock.
		show(this.waitingParts.facts, !s.challenge);
		show(this.waitingParts.interestNote, s.withInterests && !s.challenge);
		if (s.withInterests) {
			setText(
				this.waitingParts.interestNote,
				waited < INTEREST_WINDOW_MS ? WAITING_NOTES.interests : WAITING_NOTES.anyone,
			);
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
		show(this.puzzle.note, c !== null);
		if (!c) return;
		const bar = this.puzzle.progress;
		if (c.tries === 0) {
			if (bar.hasAttribute("value")) bar.removeAttribute("value");
		} else {
			const percent = Math.floor(100 * (1 - Math.exp(-c.tries / 2 ** c.difficulty)));
			if (bar.value !== percent) bar.value = percent;
		}
		setText(this.puzzle.tries, c.tries === 0 ? "Starting…" : `${c.tries.toLocaleString("en")} tries`);
	}

	/** `chat`: what the page remembers of this chat (the partner survives a reload there). */
	renderChat(s: Snapshot, chat: ChatInfo | null): void {
		const chatting = s.phase === "chatting" && this.current === "chat";
		const partner = s.partner ?? chat?.partner ?? null;
		const withInterests = s.partner ? s.withInterests : (chat?.withInterests ?? false);
		setText(this.chatParts.partnerTitle, "Stranger");
		setText(
			this.chatParts.shared,
			partner ? partnerLine(partner.gender, partner.sharedInterests, withInterests, partner.language) : "",
		);
		show(this.chatParts.partnerStatus, chatting && !s.partnerOnline);
		setText(this.chatParts.partnerStatus, chat?.joined ? PARTNER_RECONNECTING : PARTNER_NOT_JOINED);
		show(this.chatParts.typing, chatting && s.partnerOnline && s.partnerTyping);
		show(this.chatParts.linkNote, this.current === "chat" && refusedLast(s) !== null);
	}

	/** `s.replaced`: another tab has this identity; offer to take it back rather than a next stranger. */
	renderEnded(s: Snapshot): void {
		setText(this.endedParts.reason, s.endReason ? END_REASONS[s.endReason] : "The chat ended.");
		show(this.endedParts.useHere, s.replaced);
		show(this.endedParts.nextStranger, !s.replaced);
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
