// Safety rules through real sockets: age bands, the first-contact link gate,
// reports that stick, recent partners kept apart, and the abuse challenge.
import { describe, expect, it } from "vitest";
import { checkSolution, solve } from "../../src/domain/safety/pow";
import { chattingPair, initUser, type Joined, join, lobbyName, lobbyStub, openChat } from "./helpers";

/** `a` waits, `b` joins and is matched with it; `a` opens the chat and leaves at once. */
async function chatOnce(a: Joined, b: Joined, genders: [Gender, Preference, Gender, Preference]): Promise<void> {
	join(a, genders[0], genders[1]);
	await a.lobby.expect("queue_joined");
	join(b, genders[2], genders[3]);
	await b.lobby.expect("queue_joined");
	const m = await a.lobby.expect("match_found");
	await b.lobby.expect("match_found");
	const chat = await openChat(m.chat_url);
	await chat.expect("chat_joined");
	chat.send({ type: "leave_chat" });
	await chat.waitFor("chat_ended");
}

type Gender = "male" | "female" | "other";
type Preference = Gender | "any";
const ANY: [Gender, Preference, Gender, Preference] = ["other", "any", "other", "any"];

/** Re-initialises a user on a fresh lobby socket (after a match closed the old one). */
const again = (name: string, u: Joined, ip?: string) => initUser(name, { user_id: u.userId, token: u.token }, ip);

describe("age bands", () => {
	it("adults and teens are never matched; saying nothing means adult", async () => {
		const name = lobbyName();
		const teen = await initUser(name);
		join(teen, "other", "any", undefined, "teen");
		await teen.lobby.expect("queue_joined");
		const adult = await initUser(name);
		join(adult, "other", "any", undefined, "adult");
		expect(await adult.lobby.expect("queue_joined")).toEqual({ waiting: 2 });
		const silent = await initUser(name);
		join(silent);
		await silent.lobby.expect("queue_joined");
		const m = await silent.lobby.expect("match_found");
		expect((await adult.lobby.expect("match_found")).chat_id).toBe(m.chat_id);
		expect(teen.lobby.unread).toEqual([]);
		const teen2 = await initUser(name);
		join(teen2, "male", "any", undefined, "teen");
		await teen2.lobby.expect("queue_joined");
		expect((await teen2.lobby.expect("match_found")).chat_id).toBe((await teen.lobby.expect("match_found")).chat_id);
	});

	it("an unknown age band is invalid_payload", async () => {
		const u = await initUser(lobbyName());
		u.lobby.send({ type: "join_queue", payload: { gender: "male", preference: "any", age_band: "child" } });
		await u.lobby.expectError("invalid_payload");
	});
});

describe("first-contact link gate", () => {
	it("refuses contact details early in a chat, relays everything else, and lifts after the gate", async () => {
		const { a, b } = await chattingPair();
		for (const text of ["find me on example.com", "@myhandle", "call 555-0100", "me@example.org"]) {
			a.chat.send({ type: "send_message", payload: { content: text } });
			const err = await a.chat.expectError("link_blocked");
			expect(err.request_type).toBe("send_message");
		}
		expect(b.chat.unread).toEqual([]);
		// Ordinary talk passes, and ids carry on from 1: refused messages took none.
		// (b confirms what it gets, so that a is acked at once: the test must stay inside the time gate.)
		a.chat.send({ type: "send_message", payload: { content: "it's 3.5 stars, e.g. at 10:30" } });
		expect((await b.chat.expect("message_received")).content).toBe("it's 3.5 stars, e.g. at 10:30");
		b.chat.send({ type: "received", payload: { up_to: 1 } });
		expect((await a.chat.expect("message_sent")).message_id).toBe(1);
		// After three accepted messages, but still early: blocked.
		for (const t of ["two", "three"]) a.chat.send({ type: "send_message", payload: { content: t } });
		await b.chat.expect("message_received");
		await b.chat.expect("message_received");
		b.chat.send({ type: "received", payload: { up_to: 3 } });
		await a.chat.waitFor("message_sent");
		await a.chat.waitFor("message_sent");
		expect(await a.chat.waitFor("message_delivered")).toMatchObject({ up_to: 3 });
		a.chat.send({ type: "send_message", payload: { content: "example.com" } });
		await a.chat.expectError("link_blocked");
		// The partner has sent nothing yet: after the time gate it is still blocked for them.
		const gateEnd = Date.now() + 900;
		while (Date.now() < gateEnd) {
			b.chat.send({ type: "ping" });
			await b.chat.waitFor("pong");
			await new Promise((r) => setTimeout(r, 100));
		}
		b.chat.send({ type: "send_message", payload: { content: "example.com" } });
		await b.chat.expectError("link_blocked");
		a.chat.send({ type: "send_message", payload: { content: "now you can visit example.com" } });
		expect((await a.chat.expect("message_sent")).message_id).toBe(4);
		expect((await b.chat.waitFor("message_received")).content).toBe("now you can visit example.com");
	});
});

describe("reports that stick", () => {
	it("report takes a reason; older free-text reasons still end the chat", async () => {
		const pair = await chattingPair();
		pair.a.chat.send({ type: "report", payload: { reason: "spam" } });
		expect((await pair.a.chat.expect("chat_ended")).reason).toBe("you_reported");
		const old = await chattingPair();
		old.b.chat.send({ type: "report", payload: { reason: "was rude to me" } });
		expect((await old.b.chat.expect("chat_ended")).reason).toBe("you_reported");
	});

	it("someone reported by 3 different people in a day meets only others in the same state", async () => {
		const name = lobbyName();
		const stub = lobbyStub(name);
		async function reportedThrice(): Promise<Joined> {
			let target = await initUser(name);
			for (let i = 0; i < 3; i++) {
				const reporter = await initUser(name);
				join(target);
				await target.lobby.expect("queue_joined");
				join(reporter);
				await reporter.lobby.expect("queue_joined");
				const m = await reporter.lobby.expect("match_found");
				await target.lobby.expect("match_found");
				const chat = await openChat(m.chat_url);
				await chat.expect("chat_joined");
				chat.send({ type: "report", payload: { reason: "harassment" } });
				await chat.expect("chat_ended");
				target = await again(name, target);
			}
			return target;
		}
		const x = await reportedThrice();
		expect((await stub.stats()).reports_24h).toBe(3);
		const y = await reportedThrice();
		const clear = await initUser(name);
		join(clear);
		await clear.lobby.expect("queue_joined");
		join(x);
		expect(await x.lobby.expect("queue_joined")).toEqual({ waiting: 2 });
		join(y);
		await y.lobby.expect("queue_joined");
		const m = await y.lobby.expect("match_found");
		expect((await x.lobby.expect("match_found")).chat_id).toBe(m.chat_id);
		expect(clear.lobby.unread).toEqual([]);
		expect((await stub.stats()).reports_24h).toBe(6);
	});

	it("each user's last 3 partners are kept away; beyond them people may meet again", async () => {
		const name = lobbyName();
		// Women looking for men, men looking for women: the men can never match each other.
		const pair: [Gender, Preference, Gender, Preference] = ["female", "male", "male", "female"];
		let a = await initUser(name);
		const partners: Joined[] = [];
		for (let i = 0; i < 4; i++) {
			const p = await initUser(name);
			await chatOnce(a, p, pair);
			partners.push(p);
			a = await again(name, a);
		}
		// The first partner is no longer among a's last three; once it has talked to
		// three others, a is not among its last three either.
		const [first, ...recent] = await Promise.all(partners.map((p) => again(name, p)));
		let firstBack = first as Joined;
		for (let i = 0; i < 3; i++) {
			await chatOnce(await initUser(name), firstBack, pair);
			firstBack = await again(name, firstBack);
		}
		for (const p of recent) {
			join(p as Joined, "male", "female");
			await (p as Joined).lobby.expect("queue_joined");
		}
		join(a, "female", "male");
		expect(await a.lobby.expect("queue_joined")).toEqual({ waiting: 4 });
		join(firstBack, "male", "female");
		await firstBack.lobby.expect("queue_joined");
		const m = await firstBack.lobby.expect("match_found");
		expect((await a.lobby.expect("match_found")).chat_id).toBe(m.chat_id);
	});
});

describe("abuse challenge", () => {
	it("more than 10 chats in a minute: a proof of work before the next join, then joins work again", async () => {
		const name = lobbyName();
		let x = await initUser(name);
		for (let i = 0; i < 11; i++) {
			await chatOnce(x, await initUser(name), ANY);
			x = await again(name, x);
		}
		join(x);
		const challenge = await x.lobby.expect("challenge");
		expect(challenge.nonce).toMatch(/^[0-9a-f]{32}$/);
		expect(challenge.difficulty).toBe(4);
		// Asking again before solving gets the same challenge.
		join(x);
		expect(await x.lobby.expect("challenge")).toEqual(challenge);
		x.lobby.send({ type: "solve", payload: { nonce: "0".repeat(32), solution: "1" } });
		expect((await x.lobby.expectError("invalid_solution")).message).toMatch(/stale/);
		// A wrong solution: one whose hash does not start with enough zero bits
		// (about one in 2^difficulty candidates would be right).
		let wrong = 0;
		while (await checkSolution(challenge.nonce, `w${wrong}`, challenge.difficulty)) wrong++;
		x.lobby.send({ type: "solve", payload: { nonce: challenge.nonce, solution: `w${wrong}` } });
		await x.lobby.expectError("invalid_solution");
		const solution = await solve(challenge.nonce, challenge.difficulty);
		x.lobby.send({ type: "solve", payload: { nonce: challenge.nonce, solution } });
		join(x);
		expect(await x.lobby.expect("queue_joined")).toEqual({ waiting: 1 });
		// The solved nonce is spent.
		x.lobby.send({ type: "solve", payload: { nonce: challenge.nonce, solution } });
		await x.lobby.expectError("invalid_solution");
		expect((await lobbyStub(name).stats()).challenges_24h).toBe(1);
	});

	it("a user who keeps hitting the rate limit is challenged", async () => {
		const u = await initUser(lobbyName());
		for (let i = 0; i < 10; i++) {
			join(u);
			u.lobby.send({ type: "leave_queue" });
		}
		let refused = 0;
		let retryAfter = 0;
		for (let i = 0; i < 20; i++) {
			const e = await u.lobby.next();
			if (e.type === "error" && e.payload.code === "rate_limited") {
				refused++;
				retryAfter = e.payload.retry_after_ms ?? 1000;
			}
		}
		expect(refused).toBe(5);
		await new Promise((r) => setTimeout(r, retryAfter + 50)); // a token is due only after retry_after_ms
		join(u);
		await u.lobby.expect("challenge");
	});

	it("more than 60 chats from one address challenge its next user, not other addresses", async () => {
		const name = lobbyName();
		const ip = "203.0.113.77";
		for (let i = 0; i < 61; i++) {
			const a = await initUser(name, undefined, ip);
			const b = await initUser(name, undefined, ip);
			join(a);
			join(b);
			await a.lobby.waitFor("match_found");
			await b.lobby.waitFor("match_found");
		}
		const fresh = await initUser(name, undefined, ip);
		join(fresh);
		await fresh.lobby.expect("challenge");
		const elsewhere = await initUser(name, undefined, "198.51.100.5");
		join(elsewhere);
		expect(await elsewhere.lobby.expect("queue_joined")).toEqual({ waiting: 1 });
	});
});
