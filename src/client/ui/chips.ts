// The interests input: a text box where Enter turns the text into a chip.
// At most 5, each 1–32 characters, duplicates (ignoring case) dropped; every
// chip has a remove button, and Backspace in the empty box removes the last.
import { codePoints, MAX_INTEREST_CHARS, MAX_INTERESTS } from "../../protocol/schemas";
import type { Announce } from "./announce";
import { closeIcon, setText } from "./dom";
import { INTEREST_HINTS } from "./texts";

export interface Chips {
	values(): string[];
	/** Turns leftover text in the box into a chip; false (with a hint) if it cannot be one. */
	commitPending(): boolean;
}

interface ChipsOptions {
	input: HTMLInputElement;
	list: HTMLUListElement;
	hint: HTMLElement;
	initial: readonly string[];
	announce: Announce;
	onChange: (values: string[]) => void;
}

export function createChips({ input, list, hint, initial, announce, onChange }: ChipsOptions): Chips {
	const values: string[] = [];

	const setHint = (text: string, isError: boolean) => {
		setText(hint, text);
		hint.classList.toggle("is-error", isError);
		input.setAttribute("aria-invalid", String(isError));
	};

	const render = () => {
		list.replaceChildren(
			...values.map((value, index) => {
				const li = document.createElement("li");
				li.className = "chip";
				li.dataset.chip = value;
				const label = document.createElement("span");
				label.className = "chip-label";
				label.textContent = value;
				const remove = document.createElement("button");
				remove.type = "button";
				remove.className = "icon-button";
				remove.setAttribute("aria-label", `Remove ${value}`);
				remove.append(closeIcon());
				remove.addEventListener("click", () => removeAt(index, true));
				remove.addEventListener("keydown", (e) => {
					if (e.key === "Backspace" || e.key === "Delete") {
						e.preventDefault();
						removeAt(index, true);
					}
				});
				li.append(label, remove);
				return li;
			}),
		);
		input.placeholder = values.length >= MAX_INTERESTS ? "" : values.length > 0 ? "Add another" : "e.g. music";
	};

	const changed = () => {
		render();
		onChange([...values]);
	};

	function removeAt(index: number, moveFocus: boolean): void {
		const [removed] = values.splice(index, 1);
		if (removed === undefined) return;
		changed();
		setHint(INTEREST_HINTS.normal, false);
		announce(`Removed ${removed}`);
		if (!moveFocus) return;
		// Focus the chip that took its place, else the one before, else the box.
		const buttons = list.querySelectorAll<HTMLButtonElement>("button");
		(buttons[index] ?? buttons[index - 1] ?? input).focus();
	}

	/** Adds `raw` as a chip; returns whether the box may be cleared. */
	const add = (raw: string): boolean => {
		const text = raw.trim().replace(/\s+/g, " ");
		if (text === "") return true;
		if (values.some((v) => v.toLowerCase() === text.toLowerCase())) {
			setHint(INTEREST_HINTS.normal, false);
			return true; // a duplicate: nothing to add
		}
		if (codePoints(text) > MAX_INTEREST_CHARS) {
			setHint(INTEREST_HINTS.tooLong, true);
			return false;
		}
		if (values.length >= MAX_INTERESTS) {
			setHint(INTEREST_HINTS.tooMany, true);
			return false;
		}
		values.push(text);
		changed();
		setHint(INTEREST_HINTS.normal, false);
		announce(`Added ${text}`);
		return true;
	};

	input.addEventListener("keydown", (e) => {
		if (e.isComposing) return;
		if (e.key === "Enter") {
			e.preventDefault(); // never submits the form from here
			if (add(input.value)) input.value = "";
		} else if (e.key === "Backspace" && input.value === "" && values.length > 0) {
			e.preventDefault();
			removeAt(values.length - 1, false);
		}
	});
	input.addEventListener("input", () => {
		if (hint.classList.contains("is-error")) setHint(INTEREST_HINTS.normal, false);
	});

	for (const value of initial) {
		const text = value.trim();
		if (text && values.length < MAX_INTERESTS && !values.some((v) => v.toLowerCase() === text.toLowerCase())) {
			values.push(text);
		}
	}
	render();

	return {
		values: () => [...values],
		commitPending: () => {
			if (!add(input.value)) {
				input.focus();
				return false;
			}
			input.value = "";
			return true;
		},
	};
}
