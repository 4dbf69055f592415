// Per-socket rate limits, pure: time comes in as an argument.
//
// The state lives in memory only. That is exact, not a shortcut: an object
// hibernates after ~10 s without events, and by then every bucket would have
// refilled (10 tokens at 5/s take 2 s), so a fresh bucket after waking is the
// bucket the socket would have had.
import { SlidingWindow } from "./sliding-window";

export interface BucketSpec {
	ratePerSec: number;
	burst: number;
}

export class TokenBucket {
	private tokens: number;
	private updatedAt: number;

	constructor(
		private readonly spec: BucketSpec,
		now: number,
		tokens = spec.burst,
	) {
		this.tokens = tokens;
		this.updatedAt = now;
	}

	private refill(now: number): void {
		const elapsed = Math.max(0, now - this.updatedAt) / 1000;
		this.tokens = Math.min(this.spec.burst, this.tokens + elapsed * this.spec.ratePerSec);
		this.updatedAt = now;
	}

	/** Takes a token: 0 when allowed, else the milliseconds until one is available. */
	take(now: number): number {
		this.refill(now);
		if (this.tokens >= 1) {
			this.tokens -= 1;
			return 0;
		}
		return Math.ceil(((1 - this.tokens) / this.spec.ratePerSec) * 1000);
	}
}

/** Counts refusals in a sliding window: a socket that keeps pushing is closed. */
export class RefusalCounter {
	private readonly window: SlidingWindow;

	constructor(
		private readonly limit: number,
		windowMs: number,
	) {
		this.window = new SlidingWindow(windowMs);
	}

	/** Records one refusal; true when the socket has now exceeded the limit. */
	record(now: number): boolean {
		this.window.add(now);
		return this.window.count(now) > this.limit;
	}
}
