// Page-wide keys. Escape closes the report panel if it is open; otherwise, in
// a chat, it presses Next (twice to leave). Enter in the message box and in
// the interests box is handled by those boxes.

interface KeyOptions {
	closeReport: () => boolean;
	inChat: () => boolean;
	pressNext: () => void;
}

export function bindKeys({ closeReport, inChat, pressNext }: KeyOptions): void {
	document.addEventListener("keydown", (e) => {
		if (e.key !== "Escape" || e.defaultPrevented || e.isComposing || e.repeat) return;
		if (closeReport()) {
			e.preventDefault();
			return;
		}
		if (inChat()) {
			e.preventDefault();
			pressNext();
		}
	});
}
