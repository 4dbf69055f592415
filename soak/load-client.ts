// FlamingoClient for Node: src/ is written for a bundler (imports without
// extensions, parameter properties), so it is bundled with esbuild, as the
// browser app is, into a temporary module and imported from there.
//
// partysocket re-dispatches socket events differently in Node than in a
// browser: in Node a close event without a reason is re-dispatched with the
// reason "unknown reason", which FlamingoClient then takes for a close the
// server chose (a reported client bug, pinned by
// test/reliability/client-node.test.ts). The soak plays browser users, so the
// bundle hides `process.versions` from partysocket and it behaves as in a browser.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { build } from "esbuild";
import type { FlamingoClientClass } from "./client.ts";

const ENTRY = fileURLToPath(new URL("../src/client/flamingo-client.ts", import.meta.url));

export async function loadFlamingoClient(): Promise<FlamingoClientClass> {
	const dir = await mkdtemp(join(tmpdir(), "flamingo-soak-"));
	try {
		const outfile = join(dir, "flamingo-client.mjs");
		await build({
			entryPoints: [ENTRY],
			outfile,
			bundle: true,
			format: "esm",
			platform: "node",
			target: "node24",
			define: { "process.versions": "{}" },
			logLevel: "error",
		});
		const mod = (await import(pathToFileURL(outfile).href)) as { FlamingoClient: FlamingoClientClass };
		return mod.FlamingoClient;
	} finally {
		await rm(dir, { recursive: true, force: true });
	}
}
