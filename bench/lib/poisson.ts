// Open-loop schedules: arrival times drawn in advance from a Poisson process,
// fired on time whatever the server answers. Latency is measured from the
// intended time, so a slow server cannot slow the load down (no coordinated omission).

/** A small seeded PRNG (mulberry32), so runs are repeatable. */
export function rng(seed: number): () => number {
	let a = seed >>> 0;
	return () => {
		a = (a + 0x6d2b79f5) >>> 0;
		let t = a;
		t = Math.imul(t ^ (t >>> 15), t | 1);
		t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
		return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
	};
}

/** Arrival offsets (ms from 0) of a Poisson process of `ratePerSec` over `durationMs`. */
export function poissonTimes(ratePerSec: number, durationMs: number, random: () => number): number[] {
	const times: number[] = [];
	if (ratePerSec <= 0) return times;
	const meanGapMs = 1000 / ratePerSec;
	let t = -Math.log(1 - random()) * meanGapMs;
	while (t < durationMs) {
		times.push(t);
		t += -Math.log(1 - random()) * meanGapMs;
	}
	return times;
}

/**
 * Fires `fire(i, intendedAt)` for each offset at `start + offset` (performance.now() ms).
 * A late timer fires everything that is due at once; the caller measures from `intendedAt`.
 * Resolves when the last one has fired or `signal` aborts.
 */
export function runSchedule(
	start: number,
	offsets: readonly number[],
	fire: (i: number, intendedAt: number) => void,
	signal?: AbortSignal,
): Promise<void> {
	return new Promise((resolve) => {
		let i = 0;
		const tick = () => {
			if (signal?.aborted) return resolve();
			const now = performance.now();
			while (i < offsets.length && start + (offsets[i] as number) <= now) {
				fire(i, start + (offsets[i] as number));
				i++;
			}
			if (i >= offsets.length) return resolve();
			setTimeout(tick, Math.max(0, start + (offsets[i] as number) - performance.now()));
		};
		setTimeout(tick, Math.max(0, start - performance.now()));
	});
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
