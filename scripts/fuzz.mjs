// `npm run fuzz`: the property-based tests of test/fuzz inside workerd with
// 100,000 cases per codec property and 1,000 runs of the model-based socket
// test (FUZZ_RUNS, read by vitest.config.ts; `npm test` and CI use 3,000).
// A FUZZ_RUNS already set in the environment wins; extra arguments go to vitest.
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";

const require = createRequire(import.meta.url);
const pkgPath = require.resolve("vitest/package.json");
const vitest = join(dirname(pkgPath), JSON.parse(readFileSync(pkgPath, "utf8")).bin.vitest);

const runs = process.env.FUZZ_RUNS ?? "100000";
const started = Date.now();
console.log(`fuzz: FUZZ_RUNS=${runs}`);
const child = spawn(process.execPath, [vitest, "run", "--project", "workers", "test/fuzz", ...process.argv.slice(2)], {
	stdio: "inherit",
	env: { ...process.env, FUZZ_RUNS: runs },
});
child.on("exit", (code, signal) => {
	console.log(`fuzz: ${((Date.now() - started) / 1000).toFixed(1)} s`);
	process.exit(signal ? 1 : (code ?? 1));
});
