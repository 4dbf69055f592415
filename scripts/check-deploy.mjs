// `npm run check:deploy`: bundle the Worker exactly as `wrangler deploy` would
// (a dry run: nothing is uploaded, no SECRET is needed) and fail when the
// gzipped Worker bundle is over budget, so a heavy dependency never slips in.
import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";

const LIMIT_KIB = 100;
const outdir = mkdtempSync(join(tmpdir(), "flamingo-dry-run-"));
try {
	const run = spawnSync("wrangler", ["deploy", "--dry-run", "--outdir", outdir], {
		stdio: "inherit",
		env: { ...process.env, CLOUDFLARE_CF_FETCH_ENABLED: "false", WRANGLER_SEND_METRICS: "false" },
	});
	if (run.status !== 0) {
		console.error(`check:deploy: wrangler deploy --dry-run failed (exit ${run.status})`);
		process.exit(1);
	}
	const scripts = readdirSync(outdir).filter((f) => /\.(m?js)$/.test(f) && statSync(join(outdir, f)).isFile());
	if (scripts.length === 0) {
		console.error(`check:deploy: no bundle found in ${outdir}`);
		process.exit(1);
	}
	let total = 0;
	for (const f of scripts) {
		const bytes = readFileSync(join(outdir, f));
		const gz = gzipSync(bytes).length;
		total += gz;
		console.log(`check:deploy: ${f}: ${(bytes.length / 1024).toFixed(1)} KiB, ${(gz / 1024).toFixed(1)} KiB gzipped`);
	}
	if (total > LIMIT_KIB * 1024) {
		console.error(`check:deploy: the Worker bundle is ${(total / 1024).toFixed(1)} KiB gzipped, over ${LIMIT_KIB} KiB`);
		process.exit(1);
	}
	console.log(`check:deploy: OK, ${(total / 1024).toFixed(1)} KiB gzipped (limit ${LIMIT_KIB} KiB)`);
} finally {
	rmSync(outdir, { recursive: true, force: true });
}
