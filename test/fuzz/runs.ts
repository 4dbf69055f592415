// How many cases each property runs: FUZZ_RUNS, read by vitest.config.ts from
// the environment and handed to workerd as a binding (default 3,000).
import { env } from "cloudflare:workers";

function positive(text: string | undefined, fallback: number): number {
	const n = Number(text);
	return Number.isInteger(n) && n > 0 ? n : fallback;
}

/** Cases per pure codec property. */
export const FUZZ_RUNS = positive(env.FUZZ_RUNS, 3_000);

/** Whether this is the long run of `npm run fuzz` rather than the default of `npm test` and CI. */
export const LONG_RUN = FUZZ_RUNS >= 20_000;
