// The layer picture of docs/ARCHITECTURE.md, checked on the imports of src/:
// imports go down the layers, never up, and no file imports another in a
// circle (env.ts naming the object classes as types, as `wrangler types`
// writes it, is the one exception: a type import is erased from the bundle).
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { describe, expect, it } from "vitest";

const SRC = resolve("src");

interface Edge {
	to: string;
	typeOnly: boolean;
}

function sourceFiles(dir: string): string[] {
	return readdirSync(dir).flatMap((name) => {
		const path = join(dir, name);
		if (statSync(path).isDirectory()) return sourceFiles(path);
		return name.endsWith(".ts") ? [path] : [];
	});
}

const IMPORT = /^\s*(?:import|export)\s+(type\s+)?[^;]*?\sfrom\s+["'](\.[^"']+)["']/gms;

/** Each file of src/ (relative to src/) with the files of src/ it imports. */
function importGraph(): Map<string, Edge[]> {
	const graph = new Map<string, Edge[]>();
	for (const file of sourceFiles(SRC)) {
		const edges: Edge[] = [];
		for (const [, typeWord, spec] of readFileSync(file, "utf8").matchAll(IMPORT)) {
			const base = resolve(dirname(file), spec as string);
			const target = [base, `${base}.ts`, join(base, "index.ts")].find((p) => p.endsWith(".ts") && existsSync(p));
			if (target?.startsWith(SRC)) edges.push({ to: relative(SRC, target), typeOnly: Boolean(typeWord) });
		}
		graph.set(relative(SRC, file), edges);
	}
	return graph;
}

const graph = importGraph();

/** The layer a file of src/ belongs to: its top folder, or the file itself at the top. */
const layerOf = (file: string) => (file.includes("/") ? (file.split("/")[0] as string) : file);

describe("src/ layers", () => {
	it("reads the whole tree (a sanity check of the import scan)", () => {
		expect(graph.size).toBeGreaterThan(50);
		expect(graph.get("app/chat/chat-room.ts")?.some((e) => e.to === "domain/chat/lifecycle.ts")).toBe(true);
	});

	it("no file imports another in a circle, but for env.ts's type imports of the objects", () => {
		const cycles: string[] = [];
		const edges = (file: string) =>
			(graph.get(file) ?? []).filter((e) => !(file === "env.ts" && e.typeOnly)).map((e) => e.to);
		// Depth-first from each file, only through files after it: each cycle is found once, from its first file.
		for (const start of graph.keys()) {
			const walk = (file: string, path: string[], seen: Set<string>) => {
				for (const next of edges(file)) {
					if (next === start) cycles.push([...path, start].join(" → "));
					else if (next > start && !seen.has(next)) {
						seen.add(next);
						walk(next, [...path, next], seen);
					}
				}
			};
			walk(start, [start], new Set([start]));
		}
		expect(cycles).toEqual([]);
	});

	it("imports go down the layers: the pure ones and the client import nothing of the server's", () => {
		// What each layer may import besides itself (values and types alike).
		const allowed: Record<string, readonly string[]> = {
			protocol: [],
			domain: ["protocol", "config.ts"],
			transport: ["protocol", "domain", "log.ts", "config.ts"],
			client: ["protocol", "domain"],
			server: ["app", "protocol", "domain", "log.ts", "config.ts", "env.ts", "transport"],
		};
		const wrong: string[] = [];
		for (const [file, edges] of graph) {
			const from = layerOf(file);
			const may = allowed[from];
			if (!may) continue;
			for (const { to } of edges) {
				const layer = layerOf(to);
				if (layer !== from && !may.includes(layer)) wrong.push(`${file} → ${to}`);
			}
		}
		expect(wrong).toEqual([]);
	});
});
