// The ended screen's Report button: the partner of the chat that just ended
// can still be reported for 5 minutes (a stranger who insults and leaves at
// once must not escape a report). Drawn from snapshot.endedChat: shown while
// the server still takes the report, then "Reported" and disabled once it
// answered `reported` (or the chat ended by our own report).
import { REPORT_AFTER_END_MS } from "../../protocol/schemas";
import type { Snapshot } from "../flamingo-client";
import type { Announce } from "./announce";
import { setText, show } from "./dom";
import { REPORT_ENDED } from "./texts";

export class EndedReport {
	/** Redraws when the 5 minutes are up, so the button goes without another snapshot. */
	private expiry: ReturnType<typeof setTimeout> | undefined;
	private reportedChat: string | null = null;

	constructor(
		private readonly button: HTMLButtonElement,
		private readonly announce: Announce,
		private readonly redraw: () => void,
	) {}

	/** Whether the button is offered now; `onEnded`: the ended screen is showing. */
	render(s: Snapshot, onEnded: boolean, now = Date.now()): void {
		clearTimeout(this.expiry);
		const ended = s.endedChat;
		const left = ended ? ended.endedAt + REPORT_AFTER_END_MS - now : 0;
		const offered = onEnded && ended !== null && (ended.reported || left > 0);
		show(this.button, offered);
		if (!ended || !offered) return;
		this.button.disabled = ended.reported;
		setText(this.button, ended.reported ? REPORT_ENDED.done : REPORT_ENDED.label);
		if (ended.reported && this.reportedChat !== ended.chatId && s.endReason !== "you_reported") {
			this.announce(REPORT_ENDED.announced);
		}
		if (ended.reported) this.reportedChat = ended.chatId;
		else this.expiry = setTimeout(this.redraw, left);
	}
}
