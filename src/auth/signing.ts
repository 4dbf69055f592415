// Identity tokens and chat tickets, HMAC-SHA-256 with the SECRET secret.
// Identity needs no storage: a token is the MAC of the user id, so only the
// server can mint one, and knowing a user id alone never lets anyone resume it.
import * as v from "valibot";

const USER_ID = /^[0-9a-f]{16}$/;
const CHAT_ID = /^[0-9a-f]{32}$/;
const encoder = new TextEncoder();

/** How long a ticket stays valid after it was issued; `ready.chat` issues fresh ones. */
export const TICKET_TTL_MS = 24 * 60 * 60 * 1000;

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

function fromBase64Url(text: string): Uint8Array | null {
	if (!/^[A-Za-z0-9_-]*$/.test(text)) return null;
	try {
		const bin = atob(text.replaceAll("-", "+").replaceAll("_", "/"));
		return Uint8Array.from(bin, (c) => c.charCodeAt(0));
	} catch {
		return null;
	}
}

/** A signer bound to one secret; the CryptoKey is imported once and reused. */
export class Signer {
	private readonly key: Promise<CryptoKey>;

	constructor(secret: string) {
		this.key = crypto.subtle.importKey("raw", encoder.encode(secret), { name: "HMAC", hash: "SHA-256" }, false, [
			"sign",
			"verify",
		]);
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

	async ticket(claims: TicketClaims): Promise<string> {
		const body = toBase64Url(encoder.encode(JSON.stringify(claims)));
		return `${body}.${await this.mac("ticket/v1", body)}`;
	}

	/** The ticket's claims if it is genuine, unexpired and names `chatId`; otherwise null. */
	async verifyTicket(ticket: string, chatId: string, now: number): Promise<TicketClaims | null> {
		const [body, mac, ...rest] = ticket.split(".");
		if (!body || !mac || rest.length > 0) return null;
		if (!(await this.check("ticket/v1", body, mac))) return null;
		const bytes = fromBase64Url(body);
		if (!bytes) return null;
		let json: unknown;
		try {
			json = JSON.parse(new TextDecoder().decode(bytes));
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

/** The secret, or why sessions cannot start without one. */
export function signerFrom(secret: string | undefined): Signer | null {
	return secret && secret.length > 0 ? new Signer(secret) : null;
}
export const MISSING_SECRET =
	"server is not configured: the SECRET secret is not set (wrangler secret put SECRET), so no session can start";
