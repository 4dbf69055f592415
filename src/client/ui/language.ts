// The language select of the start screen: a list of common languages plus
// "Any language", the browser's own language chosen unless the person saved
// another choice. Codes are what join_queue.language takes (lowercase ISO
// 639-1, 2–3 letters); names come from Intl.DisplayNames so that no list of
// names has to be kept here.

/** The languages offered, most spoken first; the browser's own is added when missing. */
export const COMMON_LANGUAGES = [
	"en",
	"es",
	"pt",
	"fr",
	"de",
	"it",
	"ru",
	"uk",
	"pl",
	"nl",
	"tr",
	"ar",
	"hi",
	"bn",
	"ur",
	"fa",
	"id",
	"ms",
	"vi",
	"th",
	"zh",
	"ja",
	"ko",
	"tl",
	"sv",
	"no",
	"da",
	"fi",
	"el",
	"he",
	"ro",
	"cs",
	"hu",
] as const;

const CODE = /^[a-z]{2,3}$/;

/** A code the server takes, or null. */
export function languageCode(value: unknown): string | null {
	return typeof value === "string" && CODE.test(value) ? value : null;
}

/** The ISO 639-1 part of a BCP 47 tag such as "pt-BR", lowercased; null when it is not 2–3 letters a–z. */
export function fromLocale(tag: string | undefined): string | null {
	return languageCode(tag?.split(/[-_]/)[0]?.toLowerCase());
}

const names = (() => {
	try {
		return new Intl.DisplayNames(["en"], { type: "language" });
	} catch {
		return null; // an old browser: the code itself is shown
	}
})();

/** "pt" → "Portuguese"; the code itself when the browser has no name for it. */
export function languageName(code: string): string {
	try {
		const name = names?.of(code);
		return name && name !== code ? name : code;
	} catch {
		return code;
	}
}

/**
 * Fills the select (its first option, value "", is "Any language" in
 * index.html) and chooses `chosen`: the saved choice (null: any), or, when
 * nothing was saved (undefined), the browser's language.
 */
export function fillLanguages(
	select: HTMLSelectElement,
	chosen: string | null | undefined,
	browser: string | null,
): void {
	const codes: string[] = [...COMMON_LANGUAGES];
	for (const extra of [browser, chosen]) if (extra && !codes.includes(extra)) codes.push(extra);
	const options = codes
		.map((code) => ({ code, name: languageName(code) }))
		.sort((a, b) => a.name.localeCompare(b.name, "en"));
	for (const { code, name } of options) {
		const option = document.createElement("option");
		option.value = code;
		option.textContent = name;
		select.append(option);
	}
	select.value = (chosen === undefined ? browser : chosen) ?? "";
}
