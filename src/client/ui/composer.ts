// The message box: Enter sends, Shift+Enter is a new line, it grows with its
// text, and it tells the stranger we are typing (FlamingoClient stops the
// notice by itself 3 s after the last keystroke, and when the message goes).
import type { FlamingoClient } from "../flamingo-client";

export function bindComposer(form: HTMLFormElement, input: HTMLTextAreaElement, client: FlamingoClient): void {
	const grow = () => {
		input.style.height = "auto";
		if (input.value !== "") input.style.height = `${input.scrollHeight + 2}px`;
	};

	const send = () => {
		const id = client.send(input.value);
		if (id === null) return; // empty, too long (the status line says so) or not in a chat
		input.value = "";
		grow();
	};

	input.addEventListener("input", () => {
		grow();
		client.setTyping(input.value.trim() !== "");
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
}
