// `/api/stats` through the Cache API: however many browsers poll it, the
// singleton Matchmaker is asked at most once per STATS_MAX_AGE_S per location.
export const STATS_MAX_AGE_S = 2;
// A synthetic key: one cached answer per location, whatever the request's host.
const CACHE_KEY = "https://stats.flamingo.internal/api/stats";

export async function cachedStats(
	load: () => Promise<object>,
	waitUntil: (p: Promise<unknown>) => void,
): Promise<Response> {
	const cache = caches.default;
	const hit = await cache.match(CACHE_KEY);
	if (hit) return hit;
	const response = new Response(JSON.stringify(await load()), {
		headers: {
			"Content-Type": "application/json",
			"Cache-Control": `public, max-age=${STATS_MAX_AGE_S}`,
		},
	});
	waitUntil(cache.put(CACHE_KEY, response.clone()));
	return response;
}
