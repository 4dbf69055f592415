// The Worker's HTTP surface: routes, the upgrade guard (426, 403, 429) and
// the cached stats endpoint.
import { env, exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { TestSocket } from "./helpers";

const BASE = "http://127.0.0.1:8787";
const upgrade = (path: string, headers: Record<string, string> = {}) =>
	exports.default.fetch(`${BASE}${path}`, { headers: { Upgrade: "websocket", ...headers } });

describe("routes", () => {
	it("GET /api/health is 200 {ok:true}", async () => {
		const res = await exports.default.fetch(`${BASE}/api/health`);
		expect(res.status).toBe(200);
		expect(await res.json()).toEqual({ ok: true });
	});

	it("HEAD on the API answers like GET without a body; other methods get 405", async () => {
		const health = await exports.default.fetch(`${BASE}/api/health`, { method: "HEAD" });
		expect(health.status).toBe(200);
		expect(health.headers.get("Content-Type")).toContain("application/json");
		expect(await health.text()).toBe("");
		const stats = await exports.default.fetch(`${BASE}/api/stats`, { method: "HEAD" });
		expect(stats.status).toBe(200);
		expect(stats.headers.get("Cache-Control")).toBe("public, max-age=2");
		expect(await stats.text()).toBe("");
		for (const [method, path] of [
			["POST", "/api/health"],
			["DELETE", "/api/stats"],
		] as const) {
			const res = await exports.default.fetch(`${BASE}${path}`, { method });
			expect(res.status, `${method} ${path}`).toBe(405);
			expect(res.headers.get("Allow")).toBe("GET, HEAD");
		}
	});

	it("GET / serves the browser app from the Worker", async () => {
		const res = await exports.default.fetch(`${BASE}/`);
		expect(res.status).toBe(200);
		expect(res.headers.get("Content-Type")).toBe("text/html; charset=utf-8");
		expect(res.headers.get("Cache-Control")).toBe("public, max-age=0, must-revalidate");
		const html = await res.text();
		expect(html).toContain("Flamingo Chat");
		// Every file the page names is served, with its type.
		for (const [path, type] of [
			["/app.js", "text/javascript"],
			["/styles.css", "text/css"],
		] as const) {
			expect(html).toContain(`"${path}"`);
			const file = await exports.default.fetch(`${BASE}${path}`);
			expect(file.status).toBe(200);
			expect(file.headers.get("Content-Type")).toContain(type);
			expect((await file.text()).length).toBeGreaterThan(1000);
		}
	});

	it("the proof-of-work worker script the app loads on demand is served", async () => {
		const res = await exports.default.fetch(`${BASE}/pow-worker.js`);
		expect(res.status).toBe(200);
		expect(res.headers.get("Content-Type")).toContain("text/javascript");
		expect(await res.text()).toContain("postMessage");
	});

	it("a revalidation with the file's ETag is 304 without a body; another ETag gets the file", async () => {
		const first = await exports.default.fetch(`${BASE}/app.js`);
		const etag = first.headers.get("ETag");
		expect(etag).toMatch(/^"[\w-]{22}"$/);
		await first.arrayBuffer();
		const again = await exports.default.fetch(`${BASE}/app.js`, { headers: { "If-None-Match": `W/${etag}` } });
		expect(again.status).toBe(304);
		expect(again.headers.get("ETag")).toBe(etag);
		expect(await again.text()).toBe("");
		const stale = await exports.default.fetch(`${BASE}/app.js`, { headers: { "If-None-Match": '"old"' } });
		expect(stale.status).toBe(200);
		expect((await stale.text()).length).toBeGreaterThan(1000);
	});

	it("HEAD has the headers and no body; other methods are 405; unknown paths are 404", async () => {
		const head = await exports.default.fetch(`${BASE}/styles.css`, { method: "HEAD" });
		expect(head.status).toBe(200);
		expect(head.headers.get("Content-Type")).toContain("text/css");
		expect(await head.text()).toBe("");
		const post = await exports.default.fetch(`${BASE}/`, { method: "POST", body: "x" });
		expect(post.status).toBe(405);
		expect(post.headers.get("Allow")).toBe("GET, HEAD");
		for (const path of ["/nope.js", "/constructor", "/__proto__", "/index"]) {
			expect((await exports.default.fetch(`${BASE}${path}`)).status, path).toBe(404);
		}
	});

	it.each(["/ws", "/ws/chat/0123456789abcdef0123456789abcdef?ticket=x", "/ws/elsewhere"])(
		"a non-upgrade request to %s is 426",
		async (path) => {
			const res = await exports.default.fetch(`${BASE}${path}`);
			expect(res.status).toBe(426);
			expect(res.headers.get("Upgrade")).toBe("websocket");
		},
	);

	it("an upgrade to an unknown /ws path is 404", async () => {
		expect((await upgrade("/ws/elsewhere")).status).toBe(404);
	});

	it("/ws upgrades to the lobby", async () => {
		const res = await upgrade("/ws");
		expect(res.status).toBe(101);
		const socket = new TestSocket(res.webSocket as WebSocket);
		socket.send({ type: "ping" });
		expect(await socket.expect("pong")).toEqual({});
		socket.close();
	});
});

describe("origin check", () => {
	it.each(["https://evil.example", "http://localhost.evil.example", "null"])("Origin %s is 403", async (origin) => {
		expect((await upgrade("/ws", { Origin: origin })).status).toBe(403);
		expect((await upgrade("/ws/chat/0123456789abcdef0123456789abcdef?ticket=x", { Origin: origin })).status).toBe(403);
	});

	it.each([BASE, "http://localhost:5173", "http://127.0.0.1:3000"])("Origin %s is allowed", async (origin) => {
		const res = await upgrade("/ws", { Origin: origin });
		expect(res.status).toBe(101);
		res.webSocket?.accept();
		res.webSocket?.close();
	});

	it("no Origin (not a browser) is allowed", async () => {
		const res = await upgrade("/ws");
		expect(res.status).toBe(101);
		res.webSocket?.accept();
		res.webSocket?.close();
	});
});

describe("per-IP upgrade limit", () => {
	it("more than 120 upgrades a minute from one address get 429; other addresses are unaffected", async () => {
		const ip = `198.51.100.${Math.floor(Math.random() * 250) + 1}`;
		let firstRefused = -1;
		for (let i = 0; i < 130 && firstRefused < 0; i++) {
			const res = await upgrade("/ws/elsewhere", { "CF-Connecting-IP": ip });
			if (res.status === 429) firstRefused = i;
			else expect(res.status).toBe(404);
		}
		expect(firstRefused).toBe(120);
		const refused = await upgrade("/ws", { "CF-Connecting-IP": ip });
		expect(refused.status).toBe(429);
		expect(Number(refused.headers.get("Retry-After"))).toBeGreaterThan(0);
		const other = await upgrade("/ws/elsewhere", { "CF-Connecting-IP": "192.0.2.1" });
		expect(other.status).toBe(404);
	});

	it("PER_IP_LIMITS=off turns the limit off", async () => {
		const { default: worker } = await import("../../src/index");
		const ip = "203.0.113.9";
		const offEnv = { ...env, PER_IP_LIMITS: "off" };
		const ctx = { waitUntil: () => {}, passThroughOnException: () => {}, props: {} } as unknown as ExecutionContext;
		for (let i = 0; i < 130; i++) {
			const res = await worker.fetch(
				new Request(`${BASE}/ws/elsewhere`, { headers: { Upgrade: "websocket", "CF-Connecting-IP": ip } }),
				offEnv,
				ctx,
			);
			expect(res.status).toBe(404);
		}
	});
});

describe("/api/stats", () => {
	it("answers the four counters, cached for at most 2 s", async () => {
		const first = await exports.default.fetch(`${BASE}/api/stats`);
		expect(first.status).toBe(200);
		expect(first.headers.get("Cache-Control")).toBe("public, max-age=2");
		const before = (await first.json()) as Record<string, number>;
		expect(Object.keys(before).sort()).toEqual([
			"active_chats",
			"challenges_24h",
			"chatting",
			"online",
			"reports_24h",
			"waiting",
		]);

		// A new user in the global lobby: the cached answer does not see it yet…
		const res = await upgrade("/ws");
		const socket = new TestSocket(res.webSocket as WebSocket);
		socket.send({ type: "init" });
		await socket.expect("ready");
		const cached = (await (await exports.default.fetch(`${BASE}/api/stats`)).json()) as Record<string, number>;
		expect(cached).toEqual(before);
		// …and a fresh one does within the cache lifetime.
		const deadline = Date.now() + 4_000;
		let fresh = cached;
		while (fresh.online === before.online && Date.now() < deadline) {
			await new Promise((r) => setTimeout(r, 200));
			fresh = (await (await exports.default.fetch(`${BASE}/api/stats`)).json()) as Record<string, number>;
		}
		expect(fresh.online).toBe((before.online ?? 0) + 1);
		socket.close();
	});
});
