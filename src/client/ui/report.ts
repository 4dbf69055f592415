// The report panel: a reason, "Report and end", or Cancel. In the page, never a dialog box.

export interface ReportPanel {
	isOpen(): boolean;
	open(): void;
	close(restoreFocus: boolean): void;
}

interface ReportOptions {
	toggle: HTMLButtonElement;
	panel: HTMLElement;
	reason: HTMLSelectElement;
	confirm: HTMLButtonElement;
	cancel: HTMLButtonElement;
	onReport: (reason: string) => void;
}

export function createReportPanel({ toggle, panel, reason, confirm, cancel, onReport }: ReportOptions): ReportPanel {
	const isOpen = () => !panel.hidden;
	const open = () => {
		panel.hidden = false;
		toggle.setAttribute("aria-expanded", "true");
		reason.focus();
	};
	const close = (restoreFocus: boolean) => {
		if (!isOpen()) return;
		panel.hidden = true;
		toggle.setAttribute("aria-expanded", "false");
		if (restoreFocus) toggle.focus();
	};

	toggle.addEventListener("click", () => (isOpen() ? close(true) : open()));
	cancel.addEventListener("click", () => close(true));
	confirm.addEventListener("click", () => {
		close(false);
		onReport(reason.value);
	});

	return { isOpen, open, close };
}
