// Identity tokens (HMAC-SHA-256) and chat tickets (AES-256-GCM), both keyed by
// the SECRET secret. Identity needs no storage: a token is the MAC of the user
// id, so only the server can mint one, and knowing a user id alone never lets
// anyone resume it. A ticket is encrypted as well as authenticated, so the ids
// it carries (the holder's and the partner's) are not readable by the client
// (PROTOCOL.md 1.1, Privacy of tickets).
import * as v from "valibot";
import { DAY_MS } from "../../protocol/schemas";

const USER_ID = /^[0-9a-f]{16}$/;
const CHAT_ID = /^[0-9a-f]{32}$/;
const encoder = new TextEncoder();

/** How long a chat lives after its match, and so every ticket to it; `ready.chat` issues fresh ones. */
export const TICKET_TTL_MS = DAY_MS;

export const isUserId = (s: string): boolean => USER_ID.test(s);
export const isChatId = (s: string): boolean => CHAT_ID.test(s);

function randomHex(bytes: number): string {
	const buf = crypto.getRandomValues(new Uint8Array(bytes));
	let out = "";
	for (const b of buf) out += b.toString(16).padStart(2, "0");
	return out;
}
export const newUserId = (): string => randomHex(8);
export const newChatId = (): string => randomHex(16);

function toBase64Url(bytes: ArrayBuffer | Uint8Array): string {
	const view = bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes);
	let bin = "";
	for (const b of view) bin += String.fromCharCode(b);
	return btoa(bin).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
}

/**
 * The bytes of canonical base64url only. atob ignores the unused low bits of the
 * last character, so several spellings decode to the same bytes; accepting them
 * would make a token or ticket that differs from the one issued still work.
 */
function fromBase64Url(text: string): Uint8Array<ArrayBuffer> | null {
	if (!/^[A-Za-z0-9_-]*$/.test(text)) return null;
	try {
		const bytes = Uint8Array.from(atob(text.replaceAll("-", "+").replaceAll("_", "/")), (c) => c.charCodeAt(0));
		return toBase64Url(bytes) === text ? bytes : null;
	} catch {
		return null;
	}
}

/** The first byte of every ticket: the format (AES-256-GCM, 96-bit IV, JSON claims). */
const TICKET_VERSION = 2;
const IV_BYTES = 12;
const TAG_BYTES = 16;
/** Far above any real ticket (about 220 characters); longer input is refused unread. */
const MAX_TICKET_CHARS = 1024;
const TICKET_AAD = encoder.encode("flamingo ticket/v2");

/** A signer bound to one secret; its CryptoKeys are imported once and reused. */
export class Signer {
	private readonly key: Promise<CryptoKey>;
	private readonly ticketKey: Promise<CryptoKey>;

	constructor(secret: string) {
		const raw = encoder.encode(secret);
		this.key = crypto.subtle.importKey("raw", raw, { name: "HMAC", hash: "SHA-256" }, false, ["sign", "verify"]);
		// A key of its own for tickets, derived from the secret (HKDF-SHA-256), so
		// that the HMAC key of tokens is never used for anything else.
		this.ticketKey = crypto.subtle.importKey("raw", raw, "HKDF", false, ["deriveKey"]).then((base) =>
			crypto.subtle.deriveKey(
				{
					name: "HKDF",
					hash: "SHA-256",
					salt: encoder.encode("flamingo-chat"),
					info: encoder.encode("ticket/v2 aes-256-gcm"),
				},
				base,
				{ name: "AES-GCM", length: 256 },
				false,
				["encrypt", "decrypt"],
			),
		);
	}

	private async mac(label: string, data: string): Promise<string> {
		const sig = await crypto.subtle.sign("HMAC", await this.key, encoder.encode(`${label}\n${data}`));
		return toBase64Url(sig);
	}

	private async check(label: string, data: string, mac: string): Promise<boolean> {
		const sig = fromBase64Url(mac);
		if (!sig) return false;
		// subtle.verify compares in constant time.
		return crypto.subtle.verify("HMAC", await this.key, sig, encoder.encode(`${label}\n${data}`));
	}

	/** A keyed, one-way tag of a client address: counted per address, never stored in clear. */
	async addressTag(address: string): Promise<string> {
		return (await this.mac("address/v1", address)).slice(0, 22);
	}

	token(userId: string): Promise<string> {
		return this.mac("token/v1", userId);
	}

	async verifyToken(userId: string, token: string): Promise<boolean> {
		return isUserId(userId) && token.length > 0 && this.check("token/v1", userId, token);
	}

	/**
	 * The claims, encrypted and authenticated: base64url(version ‖ IV ‖ ciphertext ‖ tag).
	 * A fresh random IV each time, so two tickets never look alike, even for the same claims.
	 */
	async ticket(claims: TicketClaims): Promise<string> {
		const iv = crypto.getRandomValues(new Uint8Array(IV_BYTES));
		const sealed = await crypto.subtle.encrypt(
			{ name: "AES-GCM", iv, additionalData: TICKET_AAD, tagLength: TAG_BYTES * 8 },
			await this.ticketKey,
			encoder.encode(JSON.stringify(claims)),
		);
		const out = new Uint8Array(1 + IV_BYTES + sealed.byteLength);
		out[0] = TICKET_VERSION;
		out.set(iv, 1);
		out.set(new Uint8Array(sealed), 1 + IV_BYTES);
		return toBase64Url(out);
	}

	/** The ticket's claims if it is genuine, unexpired and names `chatId`; otherwise null. Never throws. */
	async verifyTicket(ticket: string, chatId: string, now: number): Promise<TicketClaims | null> {
		if (typeof ticket !== "string" || ticket.length > MAX_TICKET_CHARS) return null;
		const bytes = fromBase64Url(ticket);
		if (!bytes || bytes.length < 1 + IV_BYTES + TAG_BYTES || bytes[0] !== TICKET_VERSION) return null;
		let json: unknown;
		try {
			const plain = await crypto.subtle.decrypt(
				{ name: "AES-GCM", iv: bytes.subarray(1, 1 + IV_BYTES), additionalData: TICKET_AAD, tagLength: TAG_BYTES * 8 },
				await this.ticketKey,
				bytes.subarray(1 + IV_BYTES),
			);
			json = JSON.parse(new TextDecoder().decode(plain));
		} catch {
			return null;
		}
		const parsed = v.safeParse(ticketClaims, json);
		if (!parsed.success) return null;
		const claims = parsed.output;
		if (claims.c !== chatId || claims.e <= now) return null;
		return claims;
	}
}

const ticketClaims = v.object({
	/** chat id */
	c: v.string(),
	/** the user this ticket admits */
	u: v.string(),
	/** the only other user of the chat */
	p: v.string(),
	/** when the match was made (epoch ms) */
	m: v.number(),
	/** expiry (epoch ms) */
	e: v.number(),
	/** name of the Matchmaker that made the match, told when the chat ends */
	l: v.string(),
});
export type TicketClaims = v.InferOutput<typeof ticketClaims>;

/** The value `.dev.vars.example` used to hold: public, so it protects nothing. */
export const DEV_SECRET = "flamingo-dev-only-secret-do-not-use-in-production";
/** The shortest SECRET accepted, in UTF-8 bytes. */
export const MIN_SECRET_BYTES = 32;

const HOW_TO_SET = "set a long random one (openssl rand -base64 48 | wrangler secret put SECRET)";
export const MISSING_SECRET =
	"server is not configured: the SECRET secret is not set (wrangler secret put SECRET), so no session can start";
const DEV_VALUE_SECRET = `server is not configured: SECRET is the public development value of .dev.vars.example; ${HOW_TO_SET}, so no session can start`;
const SHORT_SECRET = `server is not configured: SECRET is shorter than ${MIN_SECRET_BYTES} bytes; ${HOW_TO_SET}, so no session can start`;

/** Why this SECRET cannot be used (missing, the known development value, under 32 bytes), or null if it can. */
export function secretProblem(secret: string | undefined): string | null {
	if (secret === undefined || secret.length === 0) return MISSING_SECRET;
	if (secret.trim() === DEV_SECRET) return DEV_VALUE_SECRET;
	if (encoder.encode(secret).length < MIN_SECRET_BYTES) return SHORT_SECRET;
	return null;
}

/** A signer for the secret, or null when the secret is missing or unfit (`secretProblem` says why). */
export function signerFrom(secret: string | undefined): Signer | null {
	return secret !== undefined && secretProblem(secret) === null ? new Signer(secret) : null;
}
