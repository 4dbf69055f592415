// `/api/stats`, answered from the Presence object through a memory cache per
// isolate: however many browsers poll, the Presence object is asked at most
// once per STATS_MAX_AGE_MS per isolate, and the Matchmaker never (it
// publishes its counters to Presence itself). The Cache API would add little:
// it does nothing on workers.dev, where this app is deployed.
import type { Stats } from "../protocol/schemas";

export const STATS_MAX_AGE_MS = 2_000;

let cached: { at: number; body: string } | null = null;
/** One read in flight per isolate: a burst of polls waits for it instead of adding its own. */
let loading: Promise<string> | null = null;

async function body(load: () => Promise<Stats>, now: number): Promise<string> {
	if (cached && now - cached.at < STATS_MAX_AGE_MS) return cached.body;
	loading ??= load()
		.then((stats) => {
			const text = JSON.stringify(stats);
			cached = { at: now, body: text };
			return text;
		})
		.finally(() => {
			loading = null;
		});
	return loading;
}

export async function cachedStats(load: () => Promise<Stats>, now = Date.now()): Promise<Response> {
	return new Response(await body(load, now), {
		headers: {
			"Content-Type": "application/json",
			"Cache-Control": `public, max-age=${STATS_MAX_AGE_MS / 1000}`,
		},
	});
}
