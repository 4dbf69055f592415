// The soak's randomness, pure and seeded so that a run can be repeated: a
// Poisson fault schedule per client and the Poisson gaps between messages.
// Rates are given as "the chance that this happens to one client within a
// minute", as the reliability issue states them.

export type FaultKind =
	/** Both ends of the client's connection torn down, no close frame (the proxy). */
	| "terminate"
	/** The client's socket closed with a close frame (1000, no reason); the client reconnects. */
	| "close"
	/** The page reloads: the client is closed and a new one starts from the same storages. */
	| "reload"
	/** Nothing forwarded either way, nothing closed, for `durationMs` (the proxy). */
	| "blackhole"
	/** The user is gone longer than the grace period (`durationMs`), then reloads. */
	| "away"
	/** The user presses Next: leaves the chat and looks for another stranger. */
	| "next"
	/**
	 * A slow reader for `durationMs` (the proxy): what the server sends reaches
	 * the client late and at a few KB/s (`slow`), in order, nothing dropped;
	 * what was held back flows at full speed when it ends.
	 */
	| "slow";

export type FaultRates = Record<FaultKind, number>;

/**
 * The rates of the reliability issue (terminate, close, blackhole), plus page
 * reloads, long absences, spells of slow reading, and Next. Next is user behaviour more than a fault:
 * at 15 % per client per minute a chat (two clients) lasts about 3 minutes on
 * average, as stranger chats do, which also keeps each FlamingoClient's
 * transcript (serialised to its sessionStorage on every message) small enough
 * for 1,000 clients to share one Node process.
 */
export const DEFAULT_RATES: FaultRates = {
	terminate: 0.1,
	close: 0.05,
	blackhole: 0.05,
	reload: 0.03,
	away: 0.01,
	next: 0.15,
	slow: 0.05,
};

/** How long a blackhole lasts (ms): 5–30 s. */
export const BLACKHOLE_MS = { min: 5_000, max: 30_000 } as const;
/** How long a long absence lasts (ms): past the 30 s grace period. */
export const AWAY_MS = { min: 35_000, max: 50_000 } as const;
/**
 * A spell of slow reading: how long (ms), how late each chunk from the server
 * arrives (ms), and how fast the client reads (bytes a second). Latencies
 * above 1 s outlast the server's receipt deadline (the message is stored,
 * then acked); none reaches the client's 10 s pong deadline on its own.
 */
export const SLOW = {
	durationMs: { min: 5_000, max: 30_000 },
	latencyMs: { min: 200, max: 2_500 },
	bytesPerSec: { min: 1_000, max: 4_000 },
} as const;

/** How a slow reader reads (soak/proxy.ts applies it). */
export interface SlowReading {
	/** Every chunk from the server waits at least this long. */
	latencyMs: number;
	/** And the client reads at most this many bytes a second. */
	bytesPerSec: number;
}

export interface Fault {
	/** ms from the start of the run. */
	at: number;
	kind: FaultKind;
	/** For `blackhole`, `away` and `slow`. */
	durationMs?: number;
	/** For `slow`. */
	slow?: SlowReading;
}

/** The bench's seeded generator (mulberry32), so both tools repeat a run the same way. */
export { rng as seeded } from "../bench/lib/poisson.ts";

/** A gap of an exponential distribution with `ratePerMs` events per ms (the gaps of a Poisson process). */
export function exponentialGap(random: () => number, ratePerMs: number): number {
	if (ratePerMs <= 0) return Number.POSITIVE_INFINITY;
	return -Math.log(1 - random()) / ratePerMs;
}

/**
 * The rate (per ms) of a Poisson process under which something happens at
 * least once within a minute with probability `perMinute`.
 */
export function ratePerMs(perMinute: number): number {
	if (perMinute <= 0) return 0;
	if (perMinute >= 1) return Number.POSITIVE_INFINITY;
	return -Math.log(1 - perMinute) / 60_000;
}

export function uniform(random: () => number, min: number, max: number): number {
	return min + random() * (max - min);
}

/**
 * One client's faults over `[0, durationMs)`, in time order: an independent
 * Poisson process per kind, each rate (events per ms) multiplied by `scale`.
 */
export function faultSchedule(random: () => number, rates: FaultRates, durationMs: number, scale = 1): Fault[] {
	const faults: Fault[] = [];
	for (const kind of Object.keys(rates) as FaultKind[]) {
		const rate = ratePerMs(rates[kind]) * scale;
		for (let at = exponentialGap(random, rate); at < durationMs; at += exponentialGap(random, rate)) {
			const fault: Fault = { at: Math.round(at), kind };
			if (kind === "blackhole") fault.durationMs = Math.round(uniform(random, BLACKHOLE_MS.min, BLACKHOLE_MS.max));
			if (kind === "away") fault.durationMs = Math.round(uniform(random, AWAY_MS.min, AWAY_MS.max));
			if (kind === "slow") {
				fault.durationMs = Math.round(uniform(random, SLOW.durationMs.min, SLOW.durationMs.max));
				fault.slow = {
					latencyMs: Math.round(uniform(random, SLOW.latencyMs.min, SLOW.latencyMs.max)),
					bytesPerSec: Math.round(uniform(random, SLOW.bytesPerSec.min, SLOW.bytesPerSec.max)),
				};
			}
			faults.push(fault);
		}
	}
	return faults.sort((a, b) => a.at - b.at);
}
