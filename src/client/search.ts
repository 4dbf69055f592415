// The search the person asked for: their preferences, and whether the client
// should be in the queue (it joins as soon as the lobby is ready). The
// preferences are kept in sessionStorage with the transcript, so that after a
// reload "next stranger" looks again with the same ones; an app may also give
// them without searching (`prefer`), say from its start screen, so that a tab
// that took a chat over from another one knows them too.
import * as v from "valibot";
import { AGE_BANDS, GENDERS, PREFERENCES } from "../protocol/schemas";
import type { LobbyPayload } from "./outgoing";
import { type KeyValueStorage, readJson, writeJson } from "./web-storage";

const SEARCH_KEY = "flamingo.search";

/** What the person asked for; also what a reload may read back (anything else is ignored). */
const preferencesSchema = v.object({
	gender: v.picklist(GENDERS),
	preference: v.picklist(PREFERENCES),
	interests: v.optional(v.array(v.string())),
	/** Adults and teens are never matched; omitted means adult. */
	ageBand: v.optional(v.picklist(AGE_BANDS)),
	/** Inside the interest window only people who gave the same language (lowercase ISO 639-1); omitted means any. */
	language: v.optional(v.pipe(v.string(), v.regex(/^[a-z]{2,3}$/))),
});
export type Preferences = v.InferOutput<typeof preferencesSchema>;

export class Search {
	/** The preferences the next search uses: of the last begin() or prefer(). */
	private prefs: Preferences | null;
	/** The preferences of the search under way (what a join sends). */
	private active: Preferences | null = null;
	private queueWanted = false;

	constructor(private readonly session: KeyValueStorage | null) {
		const saved = readJson(session, SEARCH_KEY);
		this.prefs = v.is(preferencesSchema, saved) ? saved : null;
	}

	/** The queue should take us once the lobby is ready. */
	get wanted(): boolean {
		return this.queueWanted;
	}

	get preferences(): Preferences | null {
		return this.prefs;
	}

	/** A new search with these preferences. */
	begin(prefs: Preferences): void {
		this.prefer(prefs);
		this.active = prefs;
		this.queueWanted = true;
	}

	/** The preferences of the next search, without searching now (a search under way keeps its own). */
	prefer(prefs: Preferences): void {
		this.prefs = prefs;
		writeJson(this.session, SEARCH_KEY, prefs);
	}

	/** Look again with the same preferences once the current chat has ended (next stranger). */
	again(): void {
		this.queueWanted = true;
	}

	/** The person stopped looking, or a match was found, or another tab took over. */
	stop(): void {
		this.queueWanted = false;
	}

	/** Only a chat we left (next stranger) is followed by another search. */
	chatEnded(youLeft: boolean): void {
		this.queueWanted &&= youLeft;
	}

	/** The `join_queue` payload of this search, or null when there is none to join. */
	joinPayload(): LobbyPayload<"join_queue"> | null {
		const p = this.active;
		if (!p || !this.queueWanted) return null;
		return {
			gender: p.gender,
			preference: p.preference,
			...(p.interests?.length ? { interests: p.interests } : {}),
			...(p.ageBand ? { age_band: p.ageBand } : {}),
			...(p.language ? { language: p.language } : {}),
		};
	}
}
