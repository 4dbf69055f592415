// "Next" asks before it leaves, like Omegle: the first press (or Esc) turns
// the button into "Really?" for 3 s, the second within that time goes on.
import type { Announce } from "./announce";
import { NEXT_ARMED_HINT, NEXT_ARMED_LABEL, NEXT_LABEL } from "./texts";

const ARMED_MS = 3_000;

export interface NextButton {
	press(): void;
	disarm(): void;
}

export function createNextButton(button: HTMLButtonElement, announce: Announce, onConfirm: () => void): NextButton {
	let timer: ReturnType<typeof setTimeout> | undefined;

	const disarm = () => {
		clearTimeout(timer);
		timer = undefined;
		button.textContent = NEXT_LABEL;
		button.classList.remove("armed");
	};

	const press = () => {
		if (timer !== undefined) {
			disarm();
			onConfirm();
			return;
		}
		button.textContent = NEXT_ARMED_LABEL;
		button.classList.add("armed");
		announce(NEXT_ARMED_HINT);
		timer = setTimeout(disarm, ARMED_MS);
	};

	button.addEventListener("click", press);
	return { press, disarm };
}
