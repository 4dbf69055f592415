// The deployment's configuration, checked before anything is deployed:
// wrangler.toml declares what the code needs, and the CI workflows are valid.
import { existsSync, readFileSync } from "node:fs";
import { parse as parseToml } from "smol-toml";
import { describe, expect, it } from "vitest";
import { compatibilityDate as workerdDate } from "workerd";
import { parse as parseYaml } from "yaml";

const read = (path: string) => readFileSync(path, "utf8");
const wrangler = parseToml(read("wrangler.toml")) as Record<string, unknown> & {
	durable_objects: { bindings: { name: string; class_name: string }[] };
	migrations: { tag: string; new_sqlite_classes?: string[]; new_classes?: string[] }[];
	assets?: unknown;
	ratelimits: { name: string; namespace_id: string; simple: { limit: number; period: number } }[];
	build: { command: string; watch_dir: string[] };
	observability: { enabled: boolean };
	compatibility_date: string;
	main: string;
};

describe("wrangler.toml", () => {
	it("binds the three Durable Object classes, exported by the Worker", () => {
		const bindings = Object.fromEntries(wrangler.durable_objects.bindings.map((b) => [b.name, b.class_name]));
		expect(bindings).toEqual({ MATCHMAKER: "Matchmaker", CHAT_ROOM: "ChatRoom", PRESENCE: "Presence" });
		const main = read(wrangler.main);
		for (const cls of Object.values(bindings)) expect(main).toMatch(new RegExp(`export \\{ ${cls} \\}`));
	});

	it("creates every class as SQLite-backed in a migration, never editing v1", () => {
		const sqlite = wrangler.migrations.flatMap((m) => m.new_sqlite_classes ?? []);
		expect(sqlite.sort()).toEqual(["ChatRoom", "Matchmaker", "Presence"]);
		expect(wrangler.migrations[0]).toEqual({ tag: "v1", new_sqlite_classes: ["Matchmaker", "ChatRoom"] });
		expect(wrangler.migrations.flatMap((m) => m.new_classes ?? [])).toEqual([]);
		expect(new Set(wrangler.migrations.map((m) => m.tag)).size).toBe(wrangler.migrations.length);
	});

	it("builds the app into the Worker, with no assets router in front of the sockets", () => {
		expect(wrangler.assets).toBeUndefined();
		expect(wrangler.build.command).toContain("scripts/build-client.mjs");
		expect(wrangler.build.watch_dir).toEqual(expect.arrayContaining(["src/client", "public"]));
		expect(existsSync("scripts/build-client.mjs")).toBe(true);
	});

	it("declares the per-IP upgrade limit of PROTOCOL.md", () => {
		expect(wrangler.ratelimits).toEqual([
			expect.objectContaining({ name: "UPGRADE_LIMITER", simple: { limit: 120, period: 60 } }),
		]);
	});

	it("turns Workers observability on", () => {
		expect(wrangler.observability.enabled).toBe(true);
	});

	it("has a compatibility_date the installed workerd accepts", () => {
		expect(wrangler.compatibility_date).toMatch(/^\d{4}-\d{2}-\d{2}$/);
		expect(wrangler.compatibility_date <= workerdDate).toBe(true);
	});

	it("keeps the secret out of the file", () => {
		expect(JSON.stringify(wrangler)).not.toMatch(/SECRET\s*=/);
		expect(read("wrangler.toml")).not.toMatch(/^\s*SECRET\s*=/m);
	});
});

describe("GitHub workflows", () => {
	const ci = parseYaml(read(".github/workflows/ci.yml"));
	const deploy = parseYaml(read(".github/workflows/deploy.yml"));
	const steps = (wf: {
		jobs: Record<
			string,
			{ steps: { run?: string; uses?: string; with?: Record<string, string>; env?: Record<string, string> }[] }
		>;
	}) => Object.values(wf.jobs).flatMap((j) => j.steps);

	it("ci runs the README's test command on pushes and pull requests", () => {
		expect(Object.keys(ci.on)).toEqual(expect.arrayContaining(["push", "pull_request"]));
		const runs = steps(ci).map((s) => s.run ?? "");
		expect(read("README.md")).toContain("npm test");
		expect(runs).toContain("npm test");
		expect(runs).toContain("npm ci");
		expect(runs.some((r) => r.includes("apt-get install") && r.includes("chromium"))).toBe(true);
	});

	it("deploy ships main with the official wrangler action and the secrets", () => {
		expect(deploy.on.push.branches).toEqual(["main"]);
		const action = steps(deploy).find((s) => s.uses?.startsWith("cloudflare/wrangler-action@"));
		// A GitHub expression, not a template literal.
		expect(action?.with?.apiToken).toMatch(/^\$\{\{ secrets\.CLOUDFLARE_API_TOKEN \}\}$/);
		expect(action?.with?.command).toBe("deploy");
		expect(action?.with?.secrets).toContain("SECRET");
		expect(action?.env?.SECRET).toMatch(/^\$\{\{ secrets\.\w+ \}\}$/);
	});
});
