// A server deployed without a SECRET, with the default per-IP limits (no
// PER_IP_LIMITS variable): sessions are refused politely, and more than 120
// upgrades a minute from one address get HTTP 429.
import { describe, expect, it } from "vitest";
import { openLobby, useDevServer } from "./helpers";
import { PING_FRAME, upgrade } from "./ws-client";

// `--var SECRET:` overrides the dev secret of .dev.vars with an empty one.
const server = useDevServer({ vars: { SECRET: "" } });

describe("without a SECRET", () => {
	it("init gets error internal naming SECRET, and the socket stays open", async () => {
		const lobby = await openLobby(server);
		lobby.send({ type: "init", payload: {} });
		const error = await lobby.expectError("internal");
		expect(error.message).toMatch(/SECRET/);
		// An error never closes the socket by itself.
		lobby.send(PING_FRAME);
		await lobby.expect("pong");
		lobby.send({ type: "ping", payload: {} });
		await lobby.expect("pong");
		expect(lobby.isOpen).toBe(true);
		// Still no session: the next event is refused the same way, not accepted.
		lobby.send({ type: "init", payload: {} });
		await lobby.expectError("internal");
		expect(lobby.isOpen).toBe(true);
	});
});

describe("per-IP upgrade limit (default on)", () => {
	// Must be the last test on this server: it spends the address's budget for a minute.
	it("answers HTTP 429 after about 120 upgrades within a minute from one address", async () => {
		// wrangler dev emulates the binding with fixed windows aligned to the wall
		// clock's minutes: start the burst early in a window so that it cannot
		// straddle a reset (a bounded wait of at most 20 s, not a stand-in for an event).
		const leftInMinute = 60_000 - (Date.now() % 60_000);
		if (leftInMinute < 20_000) await new Promise((resolve) => setTimeout(resolve, leftInMinute + 100));
		const started = Date.now();
		let accepted = 0;
		let refusal: Awaited<ReturnType<typeof upgrade>> | undefined;
		for (let attempt = 0; attempt < 200 && Date.now() - started < 35_000; attempt++) {
			const result = await upgrade(`${server.wsUrl}/ws`);
			if (result.status === 101) {
				accepted++;
				await result.client?.closeAndWait();
				continue;
			}
			refusal = result;
			break;
		}
		expect(refusal?.status, `no refusal after ${accepted} accepted upgrades`).toBe(429);
		// Generous: far more than a handful of people behind one address get in first.
		expect(accepted).toBeGreaterThanOrEqual(100);
		expect(accepted).toBeLessThanOrEqual(120);
		// Every upgrade path is limited, plain HTTP is not.
		const chat = await upgrade(`${server.wsUrl}/ws/chat/${"ab".repeat(16)}?ticket=x`);
		expect(chat.status).toBe(429);
		const health = await fetch(`${server.baseUrl}/api/health`);
		expect(health.status).toBe(200);
	});
});
