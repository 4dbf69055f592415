// The Worker's HTTP surface: routes, the upgrade guard (426, 403, 429) and
// the cached stats endpoint.
import { env, exports } from "cloudflare:workers";
import * as v from "valibot";
import { describe, expect, it } from "vitest";
import { statsSchema } from "../../src/protocol/schemas";
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

/** The Worker called directly, with bindings of the test's choosing. */
async function workerWith(overrides: Partial<typeof env>) {
	const { default: worker } = await import("../../src/index");
	const ctx = { waitUntil: () => {}, passThroughOnException: () => {}, props: {} } as unknown as ExecutionContext;
	return (path: string, headers: Record<string, string>) =>
		worker.fetch(
			new Request(`${BASE}${path}`, { headers: { Upgrade: "websocket", ...headers } }),
			{ ...env, ...overrides },
			ctx,
		);
}

/** A rate limiter that admits `limit` calls per key, counted exactly (no wall-clock windows). */
function countingLimiter(limit: number) {
	const calls = new Map<string, number>();
	const limiter: RateLimit = {
		limit: async ({ key }) => {
			const n = (calls.get(key) ?? 0) + 1;
			calls.set(key, n);
			return { success: n <= limit };
		},
	};
	return { limiter, calls };
}

describe("per-address upgrade limit", () => {
	it("past the limiter's budget an address gets 429 with Retry-After; other addresses are unaffected", async () => {
		const { limiter, calls } = countingLimiter(120);
		const fetchWith = await workerWith({ UPGRADE_LIMITER: limiter });
		let firstRefused = -1;
		for (let i = 0; i < 130 && firstRefused < 0; i++) {
			const res = await fetchWith("/ws/elsewhere", { "CF-Connecting-IP": "198.51.100.7" });
			if (res.status === 429) firstRefused = i;
			else expect(res.status).toBe(404);
		}
		expect(firstRefused).toBe(120);
		const refused = await fetchWith("/ws", { "CF-Connecting-IP": "198.51.100.7" });
		expect(refused.status).toBe(429);
		expect(Number(refused.headers.get("Retry-After"))).toBeGreaterThan(0);
		expect((await fetchWith("/ws/elsewhere", { "CF-Connecting-IP": "192.0.2.1" })).status).toBe(404);
		expect([...calls.keys()].sort()).toEqual(["192.0.2.1", "198.51.100.7"]);
	});

	it("an IPv6 client is limited by its /64: rotating the other 64 bits does not escape", async () => {
		const { limiter, calls } = countingLimiter(5);
		const fetchWith = await workerWith({ UPGRADE_LIMITER: limiter });
		const statuses: number[] = [];
		for (let i = 1; i <= 8; i++) {
			const res = await fetchWith("/ws/elsewhere", { "CF-Connecting-IP": `2001:db8:7:9:${i.toString(16)}::${i}` });
			statuses.push(res.status);
		}
		expect(statuses).toEqual([404, 404, 404, 404, 404, 429, 429, 429]);
		expect([...calls.keys()]).toEqual(["2001:db8:7:9::/64"]);
		// The neighbouring /64 is someone else.
		expect((await fetchWith("/ws/elsewhere", { "CF-Connecting-IP": "2001:db8:7:a::1" })).status).toBe(404);
	});

	it("PER_IP_LIMITS=off turns the limit off", async () => {
		const { limiter, calls } = countingLimiter(0);
		const fetchWith = await workerWith({ UPGRADE_LIMITER: limiter, PER_IP_LIMITS: "off" });
		for (let i = 0; i < 10; i++) {
			expect((await fetchWith("/ws/elsewhere", { "CF-Connecting-IP": "203.0.113.9" })).status).toBe(404);
		}
		expect(calls.size).toBe(0);
	});

	it("the binding of wrangler.toml refuses the 121st upgrade within its window", async () => {
		// wrangler dev emulates the binding with windows aligned to the wall
		// clock's minutes: a burst that straddles a minute starts over (at most
		// twice; a burst takes well under a minute).
		for (let attempt = 0; attempt < 3; attempt++) {
			const ip = `198.51.100.${attempt + 200}`;
			const window = Math.floor(Date.now() / 60_000);
			let firstRefused = -1;
			for (let i = 0; i < 125 && firstRefused < 0; i++) {
				const res = await upgrade("/ws/elsewhere", { "CF-Connecting-IP": `${ip}` });
				if (res.status === 429) firstRefused = i;
			}
			if (Math.floor(Date.now() / 60_000) !== window) continue;
			expect(firstRefused).toBe(120);
			return;
		}
		throw new Error("three bursts in a row straddled a minute");
	});
});

describe("/api/stats", () => {
	it("answers the four counters, cached for at most 2 s", async () => {
		const first = await exports.default.fetch(`${BASE}/api/stats`);
		expect(first.status).toBe(200);
		expect(first.headers.get("Cache-Control")).toBe("public, max-age=2");
		const before = v.parse(v.strictObject(statsSchema.entries), await first.json());

		// A new user in the global lobby: the cached answer does not see it yet…
		const res = await upgrade("/ws");
		const socket = new TestSocket(res.webSocket as WebSocket);
		socket.send({ type: "init" });
		await socket.expect("ready");
		const cached = v.parse(statsSchema, await (await exports.default.fetch(`${BASE}/api/stats`)).json());
		expect(cached).toEqual(before);
		// …and a fresh one does within the cache lifetime.
		const deadline = Date.now() + 4_000;
		let fresh = cached;
		while (fresh.online === before.online && Date.now() < deadline) {
			await new Promise((r) => setTimeout(r, 200));
			fresh = v.parse(statsSchema, await (await exports.default.fetch(`${BASE}/api/stats`)).json());
		}
		expect(fresh.online).toBe(before.online + 1);
		socket.close();
	});
});

describe("browser hardening headers", () => {
	const CSP =
		"default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
		"worker-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

	const expectAppHeaders = (res: Response, what: string) => {
		const csp = res.headers.get("Content-Security-Policy") ?? "";
		expect(csp, what).toBe(CSP);
		for (const directive of ["default-src 'self'", "frame-ancestors 'none'", "base-uri 'none'"]) {
			expect(csp.split("; "), what).toContain(directive);
		}
		expect(csp, what).not.toContain("'unsafe-inline'");
		expect(csp, what).not.toContain("'unsafe-eval'");
		expect(res.headers.get("X-Frame-Options"), what).toBe("DENY");
		expect(res.headers.get("Referrer-Policy"), what).toBe("no-referrer");
		expect(res.headers.get("X-Content-Type-Options"), what).toBe("nosniff");
		expect(res.headers.get("Cross-Origin-Opener-Policy"), what).toBe("same-origin");
	};

	it.each(["/", "/app.js", "/styles.css", "/pow-worker.js"])("GET %s carries them", async (path) => {
		const res = await exports.default.fetch(`${BASE}${path}`);
		expect(res.status).toBe(200);
		expectAppHeaders(res, path);
		await res.arrayBuffer();
	});

	it("so do a HEAD, a 304 revalidation and an unknown path's 404", async () => {
		const first = await exports.default.fetch(`${BASE}/`);
		const etag = first.headers.get("ETag") ?? "";
		await first.arrayBuffer();
		const again = await exports.default.fetch(`${BASE}/`, { headers: { "If-None-Match": etag } });
		expect(again.status).toBe(304);
		expectAppHeaders(again, "304");
		const head = await exports.default.fetch(`${BASE}/styles.css`, { method: "HEAD" });
		expect(head.status).toBe(200);
		expectAppHeaders(head, "HEAD");
		const missing = await exports.default.fetch(`${BASE}/nope.js`);
		expect(missing.status).toBe(404);
		expectAppHeaders(missing, "404");
		await missing.arrayBuffer();
	});

	it("the JSON API answers are nosniff and no-referrer, and need no page policy", async () => {
		for (const [method, path] of [
			["GET", "/api/health"],
			["HEAD", "/api/health"],
			["GET", "/api/stats"],
			["GET", "/api/stats"], // the second one from the cache
		] as const) {
			const res = await exports.default.fetch(`${BASE}${path}`, { method });
			expect(res.status, `${method} ${path}`).toBe(200);
			expect(res.headers.get("X-Content-Type-Options"), `${method} ${path}`).toBe("nosniff");
			expect(res.headers.get("Referrer-Policy"), `${method} ${path}`).toBe("no-referrer");
			expect(res.headers.get("Content-Security-Policy"), `${method} ${path}`).toBeNull();
			await res.arrayBuffer();
		}
	});
});
