// First-contact link gate: early in a chat, messages that carry a way to
// reach someone elsewhere (a link, a domain, an @handle, an e-mail address, a
// phone number) are refused. Grooming and spam both start by moving the
// conversation off the platform; ordinary talk ("3.5 stars", "e.g.", "10:30",
// "2024-05-01") must pass.

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

// Every pattern above needs one of these (a URL its ":" or "www.", an e-mail
// address or domain its ".", a handle its "@", "x dot com" its "dot", a phone
// number its digits): most chat lines have none and skip the scan.
const MAYBE_CONTACT = /[.@:\d]|dot/i;

/** What kind of contact detail `text` carries, or null if none. */
export function contactIn(text: string): string | null {
	if (!MAYBE_CONTACT.test(text)) return null;
	for (const { kind, re } of PATTERNS) if (re.test(text)) return kind;
	return hasPhone(text) ? "phone" : null;
}

/** Whether the gate still holds for a sender: early in the chat, or among their first messages. */
export function gateHolds(chatStartedAt: number, now: number, acceptedFromSender: number, gateMs: number): boolean {
	return now - chatStartedAt < gateMs || acceptedFromSender < LINK_GATE_FIRST_MESSAGES;
}
