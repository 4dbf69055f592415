// The age gate: before the first start screen the person says whether they
// are an adult or a teen (13–17); the answer is remembered, shown on the start
// screen with who they can meet, and can be changed from there.
import type { AgeBand } from "../../protocol/schemas";
import { byId, setText, show } from "./dom";
import { loadAgeBand, saveAgeBand } from "./prefs";
import { AGE_GROUPS } from "./texts";

export interface AgeGate {
	/** The remembered answer, or null while the person has not given one. */
	band(): AgeBand | null;
	/** Whether the age screen should show instead of the start screen. */
	asking(): boolean;
	/** Shows the age screen again (Change age group). */
	ask(): void;
}

export function createAgeGate(onChange: () => void): AgeGate {
	let band = loadAgeBand();
	let changing = false;
	const back = byId("age-back");

	const paint = () => {
		if (band) {
			setText(byId("age-band"), `Age group: ${AGE_GROUPS[band].name}.`);
			setText(byId("age-rule"), AGE_GROUPS[band].rule);
		}
		show(back, band !== null);
		// When changing, the current answer is marked.
		for (const b of ["adult", "teen"] as const) {
			const button = byId(`age-${b}`);
			if (band === b) button.setAttribute("aria-current", "true");
			else button.removeAttribute("aria-current");
		}
	};

	const choose = (chosen: AgeBand) => {
		band = chosen;
		changing = false;
		saveAgeBand(chosen);
		paint();
		onChange();
	};

	byId("age-adult").addEventListener("click", () => choose("adult"));
	byId("age-teen").addEventListener("click", () => choose("teen"));
	back.addEventListener("click", () => {
		changing = false;
		onChange();
	});
	byId("age-change").addEventListener("click", () => {
		changing = true;
		onChange();
	});
	paint();

	return {
		band: () => band,
		asking: () => band === null || changing,
		ask: () => {
			changing = true;
			onChange();
		},
	};
}
