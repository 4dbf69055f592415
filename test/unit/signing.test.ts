import { describe, expect, it } from "vitest";
// @ts-expect-error: a file's text through Vite's ?raw suffix (no types for it here)
import devVarsExample from "../../.dev.vars.example?raw";
import {
	DEV_SECRET,
	isChatId,
	isUserId,
	MISSING_SECRET,
	newChatId,
	newUserId,
	Signer,
	secretProblem,
	signerFrom,
	TICKET_TTL_MS,
} from "../../src/domain/auth/signing";

const BASE64URL = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
const SECRET = "unit-secret-0123456789abcdef0123456789abcdef";
const signer = new Signer(SECRET);
const chatId = "0123456789abcdef0123456789abcdef";
const own = "0f1e2d3c4b5a6978";
const partner = "9a8b7c6d5e4f3021";
const claims = {
	c: chatId,
	u: own,
	p: partner,
	m: 1000,
	e: 1000 + TICKET_TTL_MS,
	l: "global",
};

describe("ids", () => {
	it("are lowercase hex of the documented lengths", () => {
		expect(isUserId(newUserId())).toBe(true);
		expect(isChatId(newChatId())).toBe(true);
		expect(newUserId()).not.toBe(newUserId());
		expect(isUserId("ABCDEF0123456789")).toBe(false);
	});
});

describe("tokens", () => {
	it("a token resumes only its own user id", async () => {
		const user = newUserId();
		const token = await signer.token(user);
		expect(await signer.verifyToken(user, token)).toBe(true);
		expect(await signer.verifyToken(newUserId(), token)).toBe(false);
		expect(await signer.verifyToken(user, `${token}x`)).toBe(false);
		expect(await signer.verifyToken(user, "")).toBe(false);
		expect(await signer.verifyToken(user, "!!!")).toBe(false);
		expect(await new Signer(`other-${SECRET}`).verifyToken(user, token)).toBe(false);
	});

	it("another spelling of the same bytes is refused: a token is compared as issued", async () => {
		const user = newUserId();
		const token = await signer.token(user);
		const other = respelled(token);
		expect(decodeBase64(other, true)).toEqual(decodeBase64(token, true));
		expect(await signer.verifyToken(user, other)).toBe(false);
		expect(await signer.verifyToken(user, token)).toBe(true);
	});

	it("is deterministic, so identity needs no storage", async () => {
		const user = newUserId();
		expect(await signer.token(user)).toBe(await signer.token(user));
	});
});

describe("tickets", () => {
	it("round-trip for their chat until they expire", async () => {
		const ticket = await signer.ticket(claims);
		expect(ticket).toMatch(/^[A-Za-z0-9_-]+$/);
		expect(ticket.length).toBeLessThan(256);
		expect(await signer.verifyTicket(ticket, chatId, 2000)).toEqual(claims);
		// Another Signer of the same secret (another object, after a restart) reads it too.
		expect(await new Signer(SECRET).verifyTicket(ticket, chatId, 2000)).toEqual(claims);
	});

	it("an expired ticket is refused", async () => {
		const ticket = await signer.ticket(claims);
		expect(await signer.verifyTicket(ticket, chatId, claims.e - 1)).toEqual(claims);
		expect(await signer.verifyTicket(ticket, chatId, claims.e)).toBeNull();
		expect(await signer.verifyTicket(ticket, chatId, claims.e + 1)).toBeNull();
	});

	it("a ticket for another chat is refused", async () => {
		const ticket = await signer.ticket(claims);
		expect(await signer.verifyTicket(ticket, "f".repeat(32), 2000)).toBeNull();
		expect(await signer.verifyTicket(ticket, "", 2000)).toBeNull();
	});

	it("a ticket of another secret is refused", async () => {
		const ticket = await signer.ticket(claims);
		expect(await new Signer(`other-${SECRET}`).verifyTicket(ticket, chatId, 2000)).toBeNull();
		const foreign = await new Signer(`other-${SECRET}`).ticket(claims);
		expect(await signer.verifyTicket(foreign, chatId, 2000)).toBeNull();
	});

	it("changing any byte, or any character, of a ticket makes it worthless", async () => {
		const ticket = await signer.ticket(claims);
		const bytes = decodeBase64(ticket, true);
		expect(bytes).not.toBeNull();
		for (let i = 0; i < (bytes?.length ?? 0); i++) {
			for (const flip of [0x01, 0x80]) {
				const altered = Uint8Array.from(bytes ?? []);
				altered[i] = (altered[i] ?? 0) ^ flip;
				expect(await signer.verifyTicket(encodeBase64Url(altered), chatId, 2000), `byte ${i}`).toBeNull();
			}
		}
		for (let i = 0; i < ticket.length; i++) {
			const other = BASE64URL[(BASE64URL.indexOf(ticket[i] ?? "A") + 1) % 64];
			const altered = `${ticket.slice(0, i)}${other}${ticket.slice(i + 1)}`;
			expect(await signer.verifyTicket(altered, chatId, 2000), `character ${i}`).toBeNull();
		}
	});

	it("another spelling of the same bytes is refused", async () => {
		// Claims whose ticket is not a multiple of 3 bytes, so its last character has unused bits.
		const padded = { ...claims, l: "global-x" };
		const ticket = await signer.ticket(padded);
		expect(ticket.length % 4).not.toBe(0);
		const other = respelled(ticket);
		expect(decodeBase64(other, true)).toEqual(decodeBase64(ticket, true));
		expect(await signer.verifyTicket(other, chatId, 2000)).toBeNull();
		expect(await signer.verifyTicket(ticket, chatId, 2000)).toEqual(padded);
	});

	it("forged, cut, extended or malformed tickets are refused without throwing", async () => {
		const ticket = await signer.ticket(claims);
		const bytes = decodeBase64(ticket, true) ?? new Uint8Array();
		const candidates = [
			"",
			"garbage",
			"!!!",
			`${ticket}x`,
			`${ticket}AA`,
			`${ticket}.x`,
			ticket.slice(0, -1),
			ticket.slice(0, -4),
			ticket.slice(1),
			encodeBase64Url(bytes.subarray(0, 29)),
			encodeBase64Url(bytes.subarray(0, 12)),
			"A".repeat(5000),
			// The old format: readable claims and a MAC.
			`${encodeBase64Url(new TextEncoder().encode(JSON.stringify(claims)))}.${"A".repeat(43)}`,
		];
		for (const candidate of candidates) {
			expect(await signer.verifyTicket(candidate, chatId, 2000), candidate).toBeNull();
		}
	});

	it("claims of the wrong shape are refused even when genuinely encrypted", async () => {
		const bad = await signer.ticket({ ...claims, m: "soon" } as unknown as typeof claims);
		expect(await signer.verifyTicket(bad, chatId, 2000)).toBeNull();
	});

	it("two tickets of the same claims differ (a fresh IV each time)", async () => {
		const a = await signer.ticket(claims);
		const b = await signer.ticket(claims);
		expect(a).not.toBe(b);
		expect(await signer.verifyTicket(b, chatId, 2000)).toEqual(claims);
	});

	it("neither user id is readable or decodable from a ticket (PROTOCOL 1.1, Privacy of tickets)", async () => {
		for (let round = 0; round < 20; round++) {
			const ticket = await signer.ticket({ ...claims, u: newUserId(), p: newUserId() });
			const claimsNow = await signer.verifyTicket(ticket, chatId, 2000);
			expect(claimsNow).not.toBeNull();
			for (const id of [claimsNow?.p ?? "", claimsNow?.u ?? ""]) {
				expect(revealsId(ticket, id), `${id} in ${ticket}`).toBe(false);
			}
		}
		// The fixed ids too, and the check itself finds an id that is there.
		const ticket = await signer.ticket(claims);
		expect(revealsId(ticket, partner)).toBe(false);
		expect(revealsId(ticket, own)).toBe(false);
		expect(revealsId(btoa(JSON.stringify(claims)), partner)).toBe(true);
		expect(revealsId(encodeBase64Url(hexBytes(partner)), partner)).toBe(true);
		expect(revealsId(`x${btoa(`{"p":"${partner}"}`)}`, partner)).toBe(true);
	});
});

describe("secret", () => {
	const long = "a".repeat(32);

	it("missing or empty: no signer, and the message says it is not set", () => {
		expect(secretProblem(undefined)).toBe(MISSING_SECRET);
		expect(secretProblem("")).toBe(MISSING_SECRET);
		expect(signerFrom(undefined)).toBeNull();
		expect(signerFrom("")).toBeNull();
	});

	it("the public development value is refused, however long", () => {
		expect(new TextEncoder().encode(DEV_SECRET).length).toBeGreaterThanOrEqual(32);
		expect(secretProblem(DEV_SECRET)).toMatch(/SECRET is the public development value/);
		expect(secretProblem(DEV_SECRET)).toMatch(/wrangler secret put SECRET/);
		expect(secretProblem(`${DEV_SECRET}\n`)).not.toBeNull();
		expect(signerFrom(DEV_SECRET)).toBeNull();
	});

	it("under 32 bytes (UTF-8) is refused; 32 bytes is enough", () => {
		expect(secretProblem("s")).toMatch(/SECRET is shorter than 32 bytes/);
		expect(secretProblem("a".repeat(31))).toBe(
			"server is not configured: SECRET is shorter than 32 bytes; set a long random one (openssl rand -base64 48 | wrangler secret put SECRET), so no session can start",
		);
		expect(signerFrom("a".repeat(31))).toBeNull();
		expect(secretProblem(long)).toBeNull();
		expect(signerFrom(long)).toBeInstanceOf(Signer);
		// Bytes, not characters: 16 two-byte characters are 32 bytes, 15 are 30.
		expect(secretProblem("é".repeat(16))).toBeNull();
		expect(secretProblem("é".repeat(15))).not.toBeNull();
	});

	it("a copy of .dev.vars.example gives a SECRET the server refuses", () => {
		const line = (devVarsExample as string).split(/\r?\n/).find((l) => /^\s*SECRET\s*=/.test(l));
		expect(line).toBeDefined();
		const value = (line ?? "").replace(/^\s*SECRET\s*=\s*/, "").replace(/^(["'])(.*)\1$/, "$2");
		expect(secretProblem(value)).not.toBeNull();
		expect(signerFrom(value)).toBeNull();
	});

	it("a refused secret issues nothing; an accepted one issues tickets", async () => {
		const ok = signerFrom(SECRET);
		expect(ok).toBeInstanceOf(Signer);
		const ticket = (await ok?.ticket(claims)) ?? "";
		expect(await signer.verifyTicket(ticket, chatId, 2000)).toEqual(claims);
	});
});

// Every way a user might read an id out of a ticket: in the text itself, in
// the base64 / base64url decoding of the ticket or of any part of it (at every
// alignment), in a hex decoding of any run of hex digits, and one level of
// encoding deeper; as hex text (either case) or as the id's 8 raw bytes.
function revealsId(ticket: string, id: string): boolean {
	const needles = [id, id.toUpperCase()].map((s) => new TextEncoder().encode(s));
	needles.push(hexBytes(id));
	const found = (bytes: Uint8Array) => needles.some((n) => indexOf(bytes, n) >= 0);
	const texts = new Set<string>([ticket, ...ticket.split(/[^A-Za-z0-9+/_-]+/)]);
	for (const text of [...texts]) {
		for (const decoded of decodings(text)) texts.add(latin1(decoded));
	}
	for (const text of texts) {
		const bytes = new TextEncoder().encode(text);
		if (text.toLowerCase().includes(id) || found(bytes) || found(Uint8Array.from(text, (c) => c.charCodeAt(0))))
			return true;
		for (const decoded of decodings(text)) if (found(decoded)) return true;
	}
	return false;
}

/** base64url and base64 decodings of `text` from each of its first 4 offsets, and hex decodings of its hex runs. */
function decodings(text: string): Uint8Array[] {
	const out: Uint8Array[] = [];
	for (let start = 0; start < 4 && start < text.length; start++) {
		for (const end of [text.length, text.length - 1, text.length - 2, text.length - 3]) {
			const part = text.slice(start, end);
			for (const url of [true, false]) {
				const bytes = decodeBase64(part, url);
				if (bytes) out.push(bytes);
			}
		}
	}
	for (const run of text.match(/[0-9a-fA-F]{2,}/g) ?? []) {
		for (const start of [0, 1]) {
			const even = run.slice(start, start + ((run.length - start) & ~1));
			if (even.length > 0) out.push(hexBytes(even.toLowerCase()));
		}
	}
	return out;
}

function decodeBase64(text: string, url: boolean): Uint8Array | null {
	const normal = url ? text.replaceAll("-", "+").replaceAll("_", "/") : text;
	if (!/^[A-Za-z0-9+/]*={0,2}$/.test(normal) || normal.replace(/=+$/, "").length % 4 === 1) return null;
	try {
		return Uint8Array.from(atob(normal), (c) => c.charCodeAt(0));
	} catch {
		return null;
	}
}

/** The same bytes, spelled otherwise: the lowest (unused) bit of the last character flipped. */
function respelled(text: string): string {
	const last = BASE64URL.indexOf(text.at(-1) ?? "A");
	return `${text.slice(0, -1)}${BASE64URL[last ^ 1]}`;
}

function encodeBase64Url(bytes: Uint8Array): string {
	return btoa(String.fromCharCode(...bytes))
		.replaceAll("+", "-")
		.replaceAll("/", "_")
		.replace(/=+$/, "");
}

function hexBytes(hex: string): Uint8Array {
	return Uint8Array.from({ length: hex.length >> 1 }, (_, i) => Number.parseInt(hex.slice(2 * i, 2 * i + 2), 16));
}

function latin1(bytes: Uint8Array): string {
	let s = "";
	for (const b of bytes) s += String.fromCharCode(b);
	return s;
}

function indexOf(haystack: Uint8Array, needle: Uint8Array): number {
	outer: for (let i = 0; i + needle.length <= haystack.length; i++) {
		for (let j = 0; j < needle.length; j++) if (haystack[i + j] !== needle[j]) continue outer;
		return i;
	}
	return -1;
}
