// The message box: Enter sends, Shift+Enter is a new line, it grows with its
// text, and it tells the stranger we are typing until 3 s without a keystroke.
import type { FlamingoClient } from "../flamingo-client";

const TYPING_IDLE_MS = 3_000;

export interface Composer {
	focus(): void;
	/** Stops the typing notice (the chat ended, or the screen changed). */
	reset(): void;
}

export function createComposer(form: HTMLFormElement, input: HTMLTextAreaElement, client: FlamingoClient): Composer {
	let idleTimer: ReturnType<typeof setTimeout> | undefined;

	const stopTyping = () => {
		clearTimeout(idleTimer);
		idleTimer = undefined;
		client.setTyping(false);
	};

	const grow = () => {
		input.style.height = "auto";
		if (input.value !== "") input.style.height = `${input.scrollHeight + 2}px`;
	};

	const send = () => {
		const id = client.send(input.value);
		if (id === null) return; // empty, too long (the status line says so) or not in a chat
		input.value = "";
		grow();
		stopTyping();
	};

	input.addEventListener("input", () => {
		grow();
		if (input.value.trim() === "") return stopTyping();
		client.setTyping(true);
		clearTimeout(idleTimer);
		idleTimer = setTimeout(stopTyping, TYPING_IDLE_MS);
	});
	input.addEventListener("keydown", (e) => {
		if (e.key === "Enter" && !e.shiftKey && !e.isComposing) {
			e.preventDefault();
			send();
		}
	});
	form.addEventListener("submit", (e) => {
		e.preventDefault();
		send();
		input.focus();
	});

	return {
		focus: () => input.focus(),
		reset: () => {
			clearTimeout(idleTimer);
			idleTimer = undefined;
		},
	};
}
