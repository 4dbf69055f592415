// Presence off the singleton (PROTOCOL.md 1.1, ARCHITECTURE.md's correction):
// /api/stats never reaches the Matchmaker; the Matchmaker publishes its
// counters to the Presence object at most every 2 s, only when they changed.

import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import * as v from "valibot";
import { describe, expect, it } from "vitest";
import type { Presence } from "../../src/app/presence/presence";
import { statsSchema } from "../../src/protocol/schemas";
import { initUser, lobbyName } from "./helpers";

const presenceStub = (name: string) => env.PRESENCE.get(env.PRESENCE.idFromName(name));
const publications = (name: string) => runInDurableObject(presenceStub(name), (p: Presence) => p.published);

async function presenceUntil(name: string, ok: (online: number) => boolean, timeoutMs: number): Promise<number> {
	const deadline = Date.now() + timeoutMs;
	for (;;) {
		const { online } = await presenceStub(name).read();
		if (ok(online)) return online;
		if (Date.now() > deadline) throw new Error(`presence still says online=${online} after ${timeoutMs} ms`);
		await new Promise((r) => setTimeout(r, 50));
	}
}

describe("/api/stats", () => {
	it("answers without a single request to the Matchmaker", async () => {
		const { default: worker } = await import("../../src/index");
		let lobbyRequests = 0;
		const trap = new Proxy(env.MATCHMAKER, {
			get(target, prop, receiver) {
				lobbyRequests++;
				return Reflect.get(target, prop, receiver);
			},
		});
		const ctx = { waitUntil: () => {}, passThroughOnException: () => {}, props: {} } as unknown as ExecutionContext;
		for (let i = 0; i < 50; i++) {
			const res = await worker.fetch(new Request("http://127.0.0.1:8787/api/stats"), { ...env, MATCHMAKER: trap }, ctx);
			expect(res.status).toBe(200);
			// Exactly the fields of the stats schema, each a count.
			expect(v.safeParse(v.strictObject(statsSchema.entries), await res.json()).success).toBe(true);
		}
		expect(lobbyRequests).toBe(0);
	});
});

describe("the Matchmaker's publications", () => {
	it("the first change is published at once; a burst of changes becomes one more publication within 2 s", async () => {
		const name = lobbyName();
		await initUser(name);
		expect(await presenceUntil(name, (n) => n === 1, 3_000)).toBe(1);
		const before = await publications(name);
		const started = Date.now();
		for (let i = 0; i < 5; i++) await initUser(name);
		// The burst is published together, by the lobby's alarm, at most 2 s after the last publication.
		expect(await presenceUntil(name, (n) => n === 6, 4_000)).toBe(6);
		expect(Date.now() - started).toBeLessThan(4_000);
		expect((await publications(name)) - before).toBe(1);
	});

	it("nothing is published when nothing changed", async () => {
		const name = lobbyName();
		const user = await initUser(name);
		await presenceUntil(name, (n) => n === 1, 3_000);
		const before = await publications(name);
		// Frames that change no counter.
		for (let i = 0; i < 5; i++) {
			user.lobby.send({ type: "ping", payload: {} });
			await user.lobby.expect("pong");
		}
		user.lobby.send({ type: "leave_queue" });
		await user.lobby.expectError("not_queued");
		expect(await publications(name)).toBe(before);
	});
});
