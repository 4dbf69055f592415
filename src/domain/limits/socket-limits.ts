// The limits one socket is held to: a cap on all frames, a stricter bucket for
// the event that costs the most (join_queue in the lobby, send_message in a
// chat), and the refusal count that ends a socket that ignores them.
import { LIMITS } from "../../config";
import { type BucketSpec, RefusalCounter, TokenBucket } from "./token-bucket";

export type LimitVerdict = { ok: true } | { ok: false; retryAfterMs: number; close: boolean };

export class SocketLimits {
	private readonly frames: TokenBucket;
	private readonly costly: TokenBucket;
	private readonly refusals = new RefusalCounter(LIMITS.refusalsBeforeClose, LIMITS.refusalWindowMs);

	constructor(costlySpec: BucketSpec, now: number) {
		this.frames = new TokenBucket(LIMITS.frame, now);
		this.costly = new TokenBucket(costlySpec, now);
	}

	/** Checks one incoming frame; `costly` marks the event the stricter bucket guards. */
	check(now: number, costly: boolean): LimitVerdict {
		let wait = this.frames.take(now);
		if (wait === 0 && costly) wait = this.costly.take(now);
		if (wait === 0) return { ok: true };
		return { ok: false, retryAfterMs: wait, close: this.refusals.record(now) };
	}
}

/** One SocketLimits per live socket; entries vanish with the socket objects. */
export class LimitsBySocket {
	private readonly map = new WeakMap<WebSocket, SocketLimits>();

	constructor(private readonly costlySpec: BucketSpec) {}

	for(ws: WebSocket, now: number): SocketLimits {
		let limits = this.map.get(ws);
		if (!limits) {
			limits = new SocketLimits(this.costlySpec, now);
			this.map.set(ws, limits);
		}
		return limits;
	}
}
