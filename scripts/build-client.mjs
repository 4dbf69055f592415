// Builds the browser app into dist/client, the Worker's static assets folder
// (wrangler.toml [assets]): src/client/app/main.ts bundled to app.js, the
// proof-of-work Web Worker (src/client/app/pow-worker.ts) to pow-worker.js,
// loaded only when the server asks for it, plus everything in public/ copied as is. Run by `npm run build` and by wrangler's
// [build] step before `wrangler dev` and `wrangler deploy`.
//
// Idempotent: files are overwritten in place and anything in dist/client that
// this build did not produce is removed, so a file deleted from public/ does
// not linger; the folder never disappears while `wrangler dev` serves it.
import { cpSync, mkdirSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";
import { build } from "esbuild";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const publicDir = join(root, "public");
const outDir = join(root, "dist", "client");
/** Output name (without .js) → entry point. */
const entries = { app: "src/client/app/main.ts", "pow-worker": "src/client/app/pow-worker.ts" };

/** Every file under `dir`, as paths relative to it. */
function filesUnder(dir) {
	return readdirSync(dir, { recursive: true, withFileTypes: true })
		.filter((e) => e.isFile())
		.map((e) => relative(dir, join(e.parentPath, e.name)));
}

const started = performance.now();
mkdirSync(outDir, { recursive: true });

const result = await build({
	absWorkingDir: root,
	entryPoints: entries,
	outdir: outDir,
	tsconfig: "src/client/tsconfig.json",
	bundle: true,
	minify: true,
	target: "es2022",
	format: "esm",
	platform: "browser",
	sourcemap: "linked",
	legalComments: "none",
	metafile: true,
	logLevel: "warning",
});

cpSync(publicDir, outDir, { recursive: true });

const produced = new Set([
	...filesUnder(publicDir),
	...Object.keys(result.metafile.outputs).map((p) => relative(outDir, resolve(root, p))),
]);
for (const file of filesUnder(outDir)) {
	if (!produced.has(file)) rmSync(join(outDir, file));
}

const kib = (n) => `${(n / 1024).toFixed(1)} KiB`;
const sizes = Object.keys(entries).map((name) => {
	const js = readFileSync(join(outDir, `${name}.js`));
	return `dist/client/${name}.js: ${kib(js.length)}, ${kib(gzipSync(js, { level: 9 }).length)} gzipped`;
});
console.log(`${sizes.join("; ")} (built in ${Math.round(performance.now() - started)} ms)`);
