import { cloudflareTest } from "@cloudflare/vitest-plugin";
import { defineConfig } from "vitest/config";

export default defineConfig({
	test: {
		projects: [
			{
				// Pure modules, the Worker and both Durable Objects, inside workerd.
				plugins: [
					cloudflareTest({
						wrangler: { configPath: "./wrangler.toml" },
						miniflare: {
							bindings: {
								SECRET: "vitest-only-secret-0123456789abcdef0123456789",
								// Short windows so tests can watch them end (production: 10 s, 30 s, 60 s).
								INTEREST_WINDOW_MS: "400",
								GRACE_MS: "500",
								ABANDON_MS: "1500",
								// Safety: a gate that ends within a test, and a challenge solved in microseconds.
								LINK_GATE_MS: "800",
								CHALLENGE_DIFFICULTY: "4",
								// Cases per fuzz property (test/fuzz): a few thousand by default, `npm run fuzz` sets 100,000.
								FUZZ_RUNS: process.env.FUZZ_RUNS ?? "3000",
							},
						},
					}),
				],
				test: {
					name: "workers",
					include: ["test/unit/**/*.test.ts", "test/worker/**/*.test.ts", "test/fuzz/**/*.test.ts"],
					testTimeout: 15_000,
				},
			},
			{
				// The real `npm run dev` (wrangler dev) with plain `ws` clients.
				test: {
					name: "e2e",
					include: ["test/e2e/**/*.test.ts"],
					environment: "node",
					testTimeout: 60_000,
					hookTimeout: 120_000,
					fileParallelism: false,
				},
			},
			{
				// Reliability against the real `npm run dev`: server restart mid-chat, a
				// matchmaker storm, silent clients, FlamingoClient under network faults.
				// After the other projects (groupOrder), so that the storm does not
				// slow down their timing tests on a small machine.
				test: {
					name: "reliability",
					include: ["test/reliability/**/*.test.ts"],
					environment: "node",
					testTimeout: 120_000,
					hookTimeout: 120_000,
					fileParallelism: false,
					sequence: { groupOrder: 1 },
				},
			},
			{
				// wrangler.toml and the CI workflows, read as files.
				test: { name: "config", include: ["test/config/**/*.test.ts"], environment: "node" },
			},
			{
				// The browser app in Debian's Chromium (playwright-core) against `npm run dev`.
				test: {
					name: "browser",
					include: ["test/browser/**/*.test.ts"],
					environment: "node",
					testTimeout: 120_000,
					hookTimeout: 120_000,
					fileParallelism: false,
				},
			},
		],
	},
});
