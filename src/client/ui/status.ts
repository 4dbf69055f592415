// The status line under the header, on every screen: what is happening now
// ("Looking for a stranger…", "Reconnecting…"), or the last error until it is
// dismissed. Changes are announced through the live region.
import type { Snapshot } from "../flamingo-client";
import type { Announce } from "./announce";
import { setText, show } from "./dom";
import type { ScreenName } from "./screens";
import { errorText, STATUS } from "./texts";

type ErrorInfo = Snapshot["error"];

/** What to say for this snapshot on this screen (`partnerJoined`: the stranger has been here). */
export function statusFor(s: Snapshot, screen: ScreenName, everConnected: boolean, partnerJoined: boolean): string {
	const lost = everConnected ? STATUS.reconnecting : STATUS.connecting;
	switch (screen) {
		case "age":
			return s.connected ? STATUS.age : lost;
		case "start":
			return s.connected ? STATUS.ready : lost;
		case "waiting":
			return s.connected ? STATUS.looking : lost;
		case "chat":
			if (s.phase !== "chatting") return s.phase === "joining" && s.partner ? STATUS.joining : STATUS.reconnecting;
			if (!s.connected) return STATUS.reconnecting;
			if (!s.partnerOnline) return partnerJoined ? STATUS.partnerAway : STATUS.partnerNotYet;
			return STATUS.chatting;
		case "ended":
			return STATUS.ended;
	}
}

export class StatusLine {
	private dismissed: ErrorInfo = null;
	private error: ErrorInfo = null;
	private lastSaid = "";

	constructor(
		private readonly line: HTMLElement,
		private readonly text: HTMLElement,
		private readonly dismiss: HTMLButtonElement,
		private readonly announce: Announce,
	) {
		dismiss.addEventListener("click", () => {
			this.dismissed = this.error;
			this.paint(this.status);
			this.text.focus();
		});
	}

	private status = "";

	/** Forgets the current error (the screen changed under it). */
	dropError(): void {
		this.dismissed = this.error;
	}

	/** `warn`: the connection is gone for now (a stronger look than a plain status). */
	render(status: string, error: ErrorInfo, warn = false): void {
		this.status = status;
		this.error = error;
		this.line.classList.toggle("is-warn", warn);
		this.paint(status);
	}

	private paint(status: string): void {
		const error = this.error && this.error !== this.dismissed ? this.error : null;
		const text = error ? errorText(error) : status;
		setText(this.text, text);
		this.line.classList.toggle("is-error", error !== null);
		show(this.dismiss, error !== null);
		if (text !== this.lastSaid) {
			this.lastSaid = text;
			this.announce(text);
		}
	}
}
