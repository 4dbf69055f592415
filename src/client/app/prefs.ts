// The last gender, preference and interests, remembered in localStorage.
import {
	GENDERS,
	type Gender,
	MAX_INTEREST_CHARS,
	MAX_INTERESTS,
	PREFERENCES,
	type Preference,
} from "../../protocol/schemas";

const KEY = "flamingo.prefs";

export interface SavedPrefs {
	gender: Gender;
	preference: Preference;
	interests: string[];
}

export const isOneOf = <T extends string>(list: readonly T[], value: unknown): value is T =>
	typeof value === "string" && (list as readonly string[]).includes(value);

/** Whatever valid part of the saved preferences there is. */
export function loadPrefs(): Partial<SavedPrefs> {
	let raw: unknown = null;
	try {
		raw = JSON.parse(localStorage.getItem(KEY) ?? "null");
	} catch {
		return {}; // blocked storage or a broken value
	}
	if (typeof raw !== "object" || raw === null) return {};
	const r = raw as Record<string, unknown>;
	const out: Partial<SavedPrefs> = {};
	if (isOneOf(GENDERS, r.gender)) out.gender = r.gender;
	if (isOneOf(PREFERENCES, r.preference)) out.preference = r.preference;
	if (Array.isArray(r.interests)) {
		out.interests = r.interests
			.filter((i): i is string => typeof i === "string" && i.trim().length > 0 && i.length <= MAX_INTEREST_CHARS * 2)
			.slice(0, MAX_INTERESTS);
	}
	return out;
}

export function savePrefs(prefs: SavedPrefs): void {
	try {
		localStorage.setItem(KEY, JSON.stringify(prefs));
	} catch {
		// Storage full or blocked: nothing is remembered, nothing breaks.
	}
}
