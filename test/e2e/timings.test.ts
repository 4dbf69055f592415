// The time-driven rules against a server whose windows are shortened through
// variables: the interest window, the grace period after a dropped chat socket,
// the heartbeat timeout of silent sockets and the abandon deadline of a match
// nobody joined. Nothing here sleeps in place of an event: each test waits for
// the frame or close it expects, with a deadline derived from the timings.
import { describe, expect, it } from "vitest";
import { chattingPair, expectMatchedClose, initUser, joinQueue, matchTwo, useDevServer } from "./helpers";

const INTEREST_WINDOW_MS = 500;
const GRACE_MS = 800;
const ABANDON_MS = 2_000;
const HEARTBEAT_TIMEOUT_MS = 1_500;
const SWEEP_MS = 500;
/** Scheduling slack on top of a deadline (alarms, a loaded CI machine). */
const SLACK_MS = 1_500;
/** Clients that must not be swept as silent ping this often, with the exact ping frame. */
const PING_EVERY_MS = 300;
const alive = { keepAliveMs: PING_EVERY_MS };

const server = useDevServer({
	vars: {
		PER_IP_LIMITS: "off",
		INTEREST_WINDOW_MS: String(INTEREST_WINDOW_MS),
		GRACE_MS: String(GRACE_MS),
		ABANDON_MS: String(ABANDON_MS),
		HEARTBEAT_TIMEOUT_MS: String(HEARTBEAT_TIMEOUT_MS),
		SWEEP_MS: String(SWEEP_MS),
	},
});

describe("interest window", () => {
	it("a shared interest matches at once (compared case-insensitively after trimming)", async () => {
		const { matchA, matchB } = await matchTwo(
			server,
			{ gender: "male", preference: "any", interests: [" Chess ", "jazz"] },
			{ gender: "female", preference: "any", interests: ["chess", "CHESS", "hiking"] },
			alive,
		);
		expect(matchA.shared_interests).toEqual(["chess"]);
		expect(matchB.shared_interests).toEqual(["chess"]);
	});

	it("a user with interests and one without match only when the window ends, with no further event", async () => {
		// No keep-alive here: nothing but the passing of the window may cause the match.
		const a = await initUser(server);
		const b = await initUser(server);
		const joinedAt = Date.now();
		joinQueue(a, "other", "any", ["origami"]);
		await a.lobby.expect("queue_joined");
		joinQueue(b, "other", "any");
		expect(await b.lobby.expect("queue_joined")).toEqual({ waiting: 2 });
		const [ma, mb] = await Promise.all([
			a.lobby.expect("match_found", INTEREST_WINDOW_MS + SLACK_MS),
			b.lobby.expect("match_found", INTEREST_WINDOW_MS + SLACK_MS),
		]);
		const elapsed = Date.now() - joinedAt;
		// Not at once: only after A's window (small tolerance for clock granularity).
		expect(elapsed).toBeGreaterThanOrEqual(INTEREST_WINDOW_MS - 50);
		expect(ma.chat_id).toBe(mb.chat_id);
		expect(ma.shared_interests).toEqual([]);
		expect(mb.shared_interests).toEqual([]);
		await Promise.all([expectMatchedClose(a), expectMatchedClose(b)]);
	});
});

describe("grace period", () => {
	it("a chat socket that closes and never comes back ends the chat partner_disconnected", async () => {
		const { a, b, chatA, chatB, matchA } = await chattingPair(
			server,
			{ gender: "male", preference: "male" },
			{ gender: "male", preference: "male" },
			alive,
		);
		const closedAt = Date.now();
		await chatA.closeAndWait(1001, "tab closed");
		expect(await chatB.expect("partner_status")).toEqual({ online: false });
		expect(await chatB.expect("chat_ended", GRACE_MS + SWEEP_MS + SLACK_MS)).toEqual({
			chat_id: matchA.chat_id,
			reason: "partner_disconnected",
		});
		expect(Date.now() - closedAt).toBeGreaterThanOrEqual(GRACE_MS - 50);
		expect((await chatB.closed()).code).toBe(1000);

		// Both may queue for the next stranger right away.
		for (const user of [a, b]) {
			const again = await initUser(server, user, alive);
			expect(again.ready.chat).toBeUndefined();
			joinQueue(again, "male", "female");
			await again.lobby.expect("queue_joined");
			again.lobby.send({ type: "leave_queue", payload: {} });
			await again.lobby.expect("queue_left");
		}
	});
});

describe("heartbeat", () => {
	it("closes a silent lobby socket with 1001 and keeps one that pings", async () => {
		const silent = await initUser(server);
		// Its last frame was `init` (answered by ready): timed from there, not after the second user's init.
		const lastFrame = Date.now();
		const pinging = await initUser(server, undefined, alive);
		const close = await silent.lobby.closed(HEARTBEAT_TIMEOUT_MS + SWEEP_MS + SLACK_MS);
		const lived = Date.now() - lastFrame;
		expect(close.code).toBe(1001);
		expect(lived).toBeGreaterThanOrEqual(HEARTBEAT_TIMEOUT_MS - 50);

		// Over the same period and one more sweep, the pinging socket stays open,
		// gets its pongs and nothing else.
		await pinging.lobby.expectSilence(SWEEP_MS + 500);
		expect(pinging.lobby.isOpen).toBe(true);
		expect(pinging.lobby.pongs).toBeGreaterThanOrEqual(Math.floor(lived / PING_EVERY_MS) - 1);
		pinging.lobby.stopKeepAlive();
		pinging.lobby.send({ type: "ping", payload: {} });
		await pinging.lobby.expect("pong");
	});
});

describe("abandoned match", () => {
	it("when nobody ever joins the chat, both users can queue again after ABANDON", async () => {
		const { a, b, matchA } = await matchTwo(
			server,
			{ gender: "female", preference: "female" },
			{ gender: "female", preference: "female" },
			alive,
		);
		const matchedAt = Date.now();
		// Right after the match both are in a live chat.
		const users = [];
		for (const user of [a, b]) {
			const again = await initUser(server, user, alive);
			expect(again.ready.chat?.chat_id).toBe(matchA.chat_id);
			joinQueue(again, "female", "male");
			await again.lobby.expectError("in_chat");
			users.push(again);
		}
		// Bounded wait: nothing happens on these sockets until the abandon deadline.
		await users[0]?.lobby.expectSilence(Math.max(0, matchedAt + ABANDON_MS - Date.now()));
		// From then on (allowing one sweep and a second of scheduling slack) join_queue must succeed.
		const deadline = matchedAt + ABANDON_MS + SWEEP_MS + 1_000;
		for (const user of users) {
			let answer: string;
			for (;;) {
				joinQueue(user, "female", "male");
				const frame = await user.lobby.next();
				answer = frame.type === "error" ? `error ${frame.payload.code}` : frame.type;
				if (answer !== "error in_chat" || Date.now() > deadline) break;
				await user.lobby.expectSilence(500);
			}
			expect(answer, `join_queue ${Date.now() - matchedAt} ms after the match`).toBe("queue_joined");
			user.lobby.send({ type: "leave_queue", payload: {} });
			await user.lobby.expect("queue_left");
		}
	});
});
