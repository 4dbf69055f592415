// Our typing notice to the partner: only changes go out, and it stops by
// itself after TYPING_IDLE_MS without a keystroke, so an app that only reports
// keystrokes never leaves the partner's indicator on. The one idle timer of
// the typing notice: the app's message box relies on it.

/** Typing is reported as stopped after this long without a keystroke. */
export const TYPING_IDLE_MS = 3_000;

export class TypingNotice {
	private sent = false;
	private timer: ReturnType<typeof setTimeout> | null = null;

	constructor(
		/** Whether a notice may go now (in a joined chat); otherwise calls change nothing. */
		private readonly allowed: () => boolean,
		private readonly write: (isTyping: boolean) => void,
	) {}

	set(isTyping: boolean): void {
		if (!this.allowed()) return;
		this.stopTimer();
		if (isTyping) this.timer = setTimeout(() => this.set(false), TYPING_IDLE_MS);
		if (this.sent === isTyping) return;
		this.sent = isTyping;
		this.write(isTyping);
	}

	/** A message went: the partner's indicator stops with it, no frame needed. */
	messageSent(): void {
		this.sent = false;
		this.stopTimer();
	}

	stopTimer(): void {
		if (this.timer !== null) clearTimeout(this.timer);
		this.timer = null;
	}
}
