// The last gender, preference, interests and language, the age group, and the
// sound and notification choices, remembered in localStorage.
import {
	AGE_BANDS,
	type AgeBand,
	GENDERS,
	type Gender,
	MAX_INTEREST_CHARS,
	MAX_INTERESTS,
	PREFERENCES,
	type Preference,
} from "../../protocol/schemas";
import { readJson, readText, webStorage, writeJson, writeText } from "../web-storage";
import { languageCode } from "./language";

const KEY = "flamingo.prefs";
const AGE_KEY = "flamingo.age";
const local = webStorage("localStorage");

export interface SavedPrefs {
	gender: Gender;
	preference: Preference;
	interests: string[];
	/** null: any language. Never saved (an older visit): the browser's language is the default. */
	language: string | null;
}

export const isOneOf = <T extends string>(list: readonly T[], value: unknown): value is T =>
	typeof value === "string" && (list as readonly string[]).includes(value);

/** Whatever valid part of the saved preferences there is. */
export function loadPrefs(): Partial<SavedPrefs> {
	const raw = readJson(local, KEY);
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
	if (r.language === null) out.language = null;
	else if (languageCode(r.language)) out.language = r.language as string;
	return out;
}

export function savePrefs(prefs: SavedPrefs): void {
	writeJson(local, KEY, prefs);
}

/** A remembered on/off choice (sound, notifications): off unless saved on. */
export function loadFlag(key: string): boolean {
	return readText(local, key) === "on";
}

export function saveFlag(key: string, on: boolean): void {
	writeText(local, key, on ? "on" : "off");
}

/** The age group the person gave, or null if they have not been asked yet (or storage is blocked). */
export function loadAgeBand(): AgeBand | null {
	const value = readText(local, AGE_KEY);
	return isOneOf(AGE_BANDS, value) ? value : null;
}

export function saveAgeBand(band: AgeBand): void {
	writeText(local, AGE_KEY, band);
}
