// First-contact link gate: early in a chat, messages that carry a way to
// reach someone elsewhere (a link, a domain, an @handle, an e-mail address, a
// phone number) are refused. Grooming and spam both start by moving the
// conversation off the platform; ordinary talk ("3.5 stars", "e.g.", "10:30",
// "2024-05-01") must pass.

import { latinLookalike } from "./confusables";

/** For how many of each side's first messages the gate holds (and for the first 30 s: Timings.linkGateMs). */
export const LINK_GATE_FIRST_MESSAGES = 3;

// Common generic and country TLDs, and the ones spammers like. A list rather
// than "any letters" so that "e.g", "i.e", "node.js" or "file.txt" pass.
const TLDS =
	"com|net|org|info|biz|io|co|me|tv|gg|ly|to|cc|ws|app|dev|xyz|site|online|link|live|club|top|shop|store|fun|chat|social|" +
	"uk|us|ca|au|de|fr|es|it|nl|be|ch|at|se|no|dk|fi|pl|cz|ru|ua|br|ar|mx|in|cn|jp|kr|tr|ir|za|ng|nz|ie|pt|gr|ro|hu|" +
	"eu|asia|tk|ml|ga|cf|gq|pw|su|vip|xxx|porn|sex|onion|edu|gov";

const PATTERNS: { kind: string; re: RegExp }[] = [
	{ kind: "url", re: /\b(?:https?|ftp|wss?):\/\/\S+/i },
	{ kind: "url", re: /\bwww\d?\.\S+/i },
	{ kind: "email", re: /[a-z0-9._%+-]+\s*(?:@|\(at\)|\[at\])\s*[a-z0-9-]+(?:\.[a-z0-9-]+)*\.[a-z]{2,}/i },
	{
		kind: "domain",
		re: new RegExp(`\\b[a-z0-9][a-z0-9-]{0,62}(?:\\.[a-z0-9-]{1,63})*\\.(?:${TLDS})\\b(?!\\.[a-z0-9])`, "i"),
	},
	// "example dot com", "example (dot) net"
	{ kind: "domain", re: new RegExp(`\\b[a-z0-9-]{2,}\\s*(?:\\(dot\\)|\\[dot\\]|\\bdot\\b)\\s*(?:${TLDS})\\b`, "i") },
	{ kind: "handle", re: /(?:^|[^\w@.])@[a-z0-9_](?:[a-z0-9_.]{1,29})/i },
];

const DATE = /^(?:\d{4}[-./]\d{1,2}[-./]\d{1,2}|\d{1,2}[-./]\d{1,2}[-./]\d{2,4})$/;

/** Phone numbers: 7–15 digits in one run, or grouped like numbers are written, or after a +. */
function hasPhone(text: string): boolean {
	for (const m of text.matchAll(/\+?\(?\d[\d\s().-]{5,}\d/g)) {
		const candidate = m[0].trim();
		const digits = candidate.replace(/\D/g, "");
		if (digits.length < 7 || digits.length > 15) continue;
		if (DATE.test(candidate)) continue;
		if (candidate.startsWith("+")) return true;
		if (/\d{7,}/.test(candidate)) return true;
		// Groups joined by -, . or ( ): "555-0100", "(030) 1234 5678", "0151.2345.678"
		const groups = candidate.split(/[\s().-]+/).filter((g) => g.length > 0);
		const joinedBySymbols = /\d[-.()]\d|\)\s?\d/.test(candidate);
		if (groups.length >= 2 && joinedBySymbols && groups.every((g) => g.length >= 2)) return true;
		if (groups.length >= 3 && groups.every((g) => g.length >= 2 && g.length <= 5)) return true;
	}
	return false;
}

// The patterns are ASCII; a contact detail can be disguised from them with
// characters a reader does not see or reads as ASCII. Without any character
// outside ASCII there is nothing to undo (NFKC leaves ASCII as it is).
const NON_ASCII = /[\u0080-\uffff]/;
// Format characters (zero-width space and joiners, soft hyphen, bidi marks,
// word joiner, U+180E) and the rest of what renders as nothing: combining
// grapheme joiner, variation selectors, Hangul fillers.
const INVISIBLE = /[\p{Cf}\p{Default_Ignorable_Code_Point}]/gu;
// Full stops of other scripts and widths that a reader takes for a dot; the
// ideographic ones also end a domain label in browsers (UTS #46). NFKC
// already folds the full-width, small and leader forms; they stay listed so
// that the list does not depend on it.
const FULL_STOPS =
	/[\u0589\u06d4\u0701\u0702\u1362\u166e\u1803\u1809\u2024\u2e3c\u3002\ua4ff\ua60e\ua6f3\ufe12\ufe52\uff0e\uff61]/gu;
const AT_SIGNS = /[\ufe6b\uff20]/gu;
const OTHER_DIGIT = /(?![0-9])\p{Nd}/gu;
const DIGIT = /^\p{Nd}$/u;
// A run of the characters a domain, an address, a handle or a word is made of.
const WORD = /[\p{L}\p{M}\p{N}._@-]+/gu;
const ASCII_ALNUM = /[a-z0-9]/i;
const MARKS = /\p{M}/gu;

// Unicode encodes each script's decimal digits as one contiguous run from 0
// to 9, some runs back to back (the mathematical digits are five), so a
// digit's value is its distance from the start of its run, modulo 10. Caching
// keeps the walk back to one per digit character (there are under 800).
const asciiDigits = new Map<string, string>();
function asciiDigit(digit: string): string {
	let ascii = asciiDigits.get(digit);
	if (ascii === undefined) {
		const cp = digit.codePointAt(0) ?? 0;
		let zero = cp;
		while (DIGIT.test(String.fromCodePoint(zero - 1))) zero--;
		ascii = String((cp - zero) % 10);
		asciiDigits.set(digit, ascii);
	}
	return ascii;
}

// A word that mixes ASCII with look-alikes ("gооgle.cоm", "dоt") is a
// disguise wherever it stands. One written wholly in another script is left
// alone unless it is shaped like a domain, address or handle and reads
// entirely as Latin ("ехаmрlе.сом"): "т.е." or "Ελλάδα." must not become
// something the patterns match. Accents are dropped too, so "café.com" is
// scanned as the domain it is.
function foldWord(word: string): string {
	if (!NON_ASCII.test(word)) return word;
	let folded = "";
	let readsAsLatin = true;
	for (const char of word.normalize("NFD").replace(MARKS, "")) {
		const latin = char < "\u0080" ? char : latinLookalike(char);
		if (latin === undefined) readsAsLatin = false;
		folded += latin ?? char;
	}
	const mixed = ASCII_ALNUM.test(word);
	return mixed || (readsAsLatin && (word.includes(".") || word.includes("@"))) ? folded : word;
}

/**
 * The text the gate scans: NFKC, invisible characters removed, full stops,
 * @ signs and digits of any script or width as ASCII, Latin look-alikes in
 * words as Latin. Only scanned; the message relayed is the one sent.
 */
export function scanForm(text: string): string {
	if (!NON_ASCII.test(text)) return text;
	return text
		.normalize("NFKC")
		.replace(INVISIBLE, "")
		.replace(FULL_STOPS, ".")
		.replace(AT_SIGNS, "@")
		.replace(OTHER_DIGIT, asciiDigit)
		.replace(WORD, foldWord);
}

// Every pattern above needs one of these (a URL its ":" or "www.", an e-mail
// address or domain its ".", a handle its "@", "x dot com" its "dot", a phone
// number its digits): most chat lines have none and skip the scan. Tested on
// the scan form, where every disguised dot, @ and digit is already ASCII.
const MAYBE_CONTACT = /[.@:\d]|dot/i;

/** What kind of contact detail `text` carries, or null if none. */
export function contactIn(text: string): string | null {
	const scanned = scanForm(text);
	if (!MAYBE_CONTACT.test(scanned)) return null;
	for (const { kind, re } of PATTERNS) if (re.test(scanned)) return kind;
	return hasPhone(scanned) ? "phone" : null;
}

/** Whether the gate still holds for a sender: early in the chat, or among their first messages. */
export function gateHolds(chatStartedAt: number, now: number, acceptedFromSender: number, gateMs: number): boolean {
	return now - chatStartedAt < gateMs || acceptedFromSender < LINK_GATE_FIRST_MESSAGES;
}
