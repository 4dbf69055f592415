import { describe, expect, it } from "vitest";
import { isChatId, isUserId, newChatId, newUserId, Signer, signerFrom, TICKET_TTL_MS } from "../../src/auth/signing";

const signer = new Signer("unit-secret");
const chatId = "0123456789abcdef0123456789abcdef";
const claims = {
	c: chatId,
	u: "aaaaaaaaaaaaaaaa",
	p: "bbbbbbbbbbbbbbbb",
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
		expect(await new Signer("other-secret").verifyToken(user, token)).toBe(false);
	});

	it("is deterministic, so identity needs no storage", async () => {
		const user = newUserId();
		expect(await signer.token(user)).toBe(await signer.token(user));
	});
});

describe("tickets", () => {
	it("verify for their chat until they expire", async () => {
		const ticket = await signer.ticket(claims);
		expect(await signer.verifyTicket(ticket, chatId, 2000)).toEqual(claims);
		expect(await signer.verifyTicket(ticket, chatId, claims.e)).toBeNull();
		expect(await signer.verifyTicket(ticket, "f".repeat(32), 2000)).toBeNull();
	});

	it("forged, altered or foreign tickets fail", async () => {
		const ticket = await signer.ticket(claims);
		const [body, mac] = ticket.split(".");
		const altered = btoa(JSON.stringify({ ...claims, u: "cccccccccccccccc" })).replace(/=+$/, "");
		expect(await signer.verifyTicket(`${altered}.${mac}`, chatId, 2000)).toBeNull();
		expect(await signer.verifyTicket(`${body}.`, chatId, 2000)).toBeNull();
		expect(await signer.verifyTicket(`${body}.${mac}.x`, chatId, 2000)).toBeNull();
		expect(await signer.verifyTicket("garbage", chatId, 2000)).toBeNull();
		expect(await new Signer("other").verifyTicket(ticket, chatId, 2000)).toBeNull();
	});

	it("a signature over claims of the wrong shape is still refused", async () => {
		const bad = await signer.ticket({ ...claims, m: "soon" } as unknown as typeof claims);
		expect(await signer.verifyTicket(bad, chatId, 2000)).toBeNull();
	});
});

describe("secret", () => {
	it("no secret, no signer", () => {
		expect(signerFrom(undefined)).toBeNull();
		expect(signerFrom("")).toBeNull();
		expect(signerFrom("s")).toBeInstanceOf(Signer);
	});
});
