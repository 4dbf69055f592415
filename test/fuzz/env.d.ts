// The fuzz knob, a miniflare binding of the workers project (vitest.config.ts).
declare global {
	namespace Cloudflare {
		interface Env {
			/** Cases per pure property; `npm run fuzz` sets 100,000. */
			FUZZ_RUNS?: string;
		}
	}
}

export {};
