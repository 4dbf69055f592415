// The report panel: a reason, a confirm button, or Cancel. In the page, never
// a dialog box. One panel serves two openers, the chat's Report and the ended
// screen's (a chat may be reported for 5 minutes after it ended): it moves
// next to the button that opened it and says what confirming does there.

export interface ReportPanel {
	isOpen(): boolean;
	close(restoreFocus: boolean): void;
}

/** A button that opens the panel, where the panel then goes, and what it says there. */
export interface ReportOpener {
	button: HTMLButtonElement;
	/** The panel is placed right after this element. */
	after: HTMLElement;
	title: string;
	confirmLabel: string;
	onReport: (reason: string) => void;
}

interface ReportOptions {
	panel: HTMLElement;
	title: HTMLElement;
	reason: HTMLSelectElement;
	confirm: HTMLButtonElement;
	cancel: HTMLButtonElement;
	openers: ReportOpener[];
}

export function createReportPanel({ panel, title, reason, confirm, cancel, openers }: ReportOptions): ReportPanel {
	let current: ReportOpener | null = null;
	const isOpen = () => !panel.hidden;
	const open = (opener: ReportOpener) => {
		current = opener;
		if (panel.previousElementSibling !== opener.after) opener.after.after(panel);
		title.textContent = opener.title;
		confirm.textContent = opener.confirmLabel;
		panel.hidden = false;
		opener.button.setAttribute("aria-expanded", "true");
		reason.focus();
	};
	const close = (restoreFocus: boolean) => {
		if (!isOpen()) return;
		panel.hidden = true;
		current?.button.setAttribute("aria-expanded", "false");
		if (restoreFocus && current && !current.button.disabled) current.button.focus();
	};

	for (const opener of openers) {
		opener.button.addEventListener("click", () => {
			const wasOpen = isOpen() && current === opener;
			close(wasOpen);
			if (!wasOpen) open(opener);
		});
	}
	cancel.addEventListener("click", () => close(true));
	confirm.addEventListener("click", () => {
		const opener = current;
		close(false);
		opener?.onReport(reason.value);
	});

	return { isOpen, close };
}
