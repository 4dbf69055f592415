// Structured logs: one JSON line per meaningful event, and never message
// content, tokens, tickets or free-text report reasons.
import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { exports } from "cloudflare:workers";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { Matchmaker } from "../../src/app/matchmaker/matchmaker";
import { chattingPair, lobbyName, lobbyStub, openChat } from "./helpers";

let lines: string[] = [];
beforeEach(() => {
	lines = [];
	vi.spyOn(console, "log").mockImplementation((...args: unknown[]) => {
		lines.push(args.map(String).join(" "));
	});
});
afterEach(() => {
	vi.restoreAllMocks();
});

function events(name: string): Record<string, unknown>[] {
	return lines
		.map((l) => {
			try {
				return JSON.parse(l) as Record<string, unknown>;
			} catch {
				return null;
			}
		})
		.filter((e): e is Record<string, unknown> => e !== null && e.event === name);
}

async function until(what: string, ok: () => boolean): Promise<void> {
	const deadline = Date.now() + 5_000;
	while (!ok()) {
		if (Date.now() > deadline) throw new Error(`no ${what} log line; saw: ${lines.join("\n")}`);
		await new Promise((r) => setTimeout(r, 20));
	}
}

describe("logs", () => {
	it("matches are summarised at the sweep; report and chat end are logged without content, tokens or free text", async () => {
		const name = lobbyName();
		const pair = await chattingPair(name);
		expect(events("matches")).toEqual([]);
		// The summary is written by the next sweep: make it due and run the alarm.
		await runInDurableObject(lobbyStub(name), (lobby: Matchmaker) => {
			(lobby as unknown as { hub: { nextSweep: number } }).hub.nextSweep = 0;
		});
		expect(await runDurableObjectAlarm(lobbyStub(name))).toBe(true);
		await until("matches", () => events("matches").length === 1);
		const [matches] = events("matches");
		expect(matches).toMatchObject({ count: 1, with_shared_interests: 0, lobby: name });
		expect(typeof matches?.wait_ms_avg).toBe("number");
		expect(matches?.wait_ms_max).toBeGreaterThanOrEqual(matches?.wait_ms_avg as number);
		expect(typeof matches?.ts).toBe("string");

		const secret = "my secret is purple elephants, do not log this";
		pair.a.chat.send({ type: "send_message", payload: { content: secret } });
		await pair.b.chat.expect("message_received");
		pair.b.chat.send({ type: "report", payload: { reason: "he said something private" } });
		await pair.a.chat.waitFor("chat_ended");
		await until("chat_ended", () => events("chat_ended").length === 1);
		expect(events("report")).toEqual([expect.objectContaining({ chat_id: pair.chatId, reason: "other" })]);
		expect(events("chat_ended")[0]).toMatchObject({ chat_id: pair.chatId, reason: "you_reported", messages: 1 });

		const all = lines.join("\n");
		for (const never of [
			secret,
			"private",
			pair.a.userId,
			pair.a.token,
			pair.b.token,
			pair.a.chatUrl.split("ticket=")[1] ?? "-",
		]) {
			expect(all).not.toContain(never);
		}
	});

	it("refused upgrades and tickets say why", async () => {
		const res = await exports.default.fetch("http://127.0.0.1:8787/ws", {
			headers: { Upgrade: "websocket", Origin: "https://evil.example" },
		});
		expect(res.status).toBe(403);
		expect(events("upgrade_refused")).toEqual([expect.objectContaining({ reason: "origin", path: "/ws" })]);
		const chat = await openChat(`http://127.0.0.1:8787/ws/chat/${"a".repeat(32)}?ticket=forged.x`);
		expect((await chat.closed()).code).toBe(4401);
		expect(events("ticket_refused")).toEqual([expect.objectContaining({ reason: "invalid" })]);
	});

	it("rate limiting is logged with whether the socket was closed", async () => {
		const pair = await chattingPair(lobbyName());
		for (let i = 0; i < 12; i++) pair.a.chat.send({ type: "send_message", payload: { content: `m${i}` } });
		await pair.a.chat.waitFor("error");
		await until("rate_limited", () => events("rate_limited").length > 0);
		expect(events("rate_limited")[0]).toMatchObject({ socket: "chat", request_type: "send_message", closed: false });
	});
});
