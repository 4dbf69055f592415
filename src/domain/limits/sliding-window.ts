// Events counted over the last `windowMs`, pure: the abuse rules and the
// per-socket refusal limit both ask "how many in the last minute?".

export class SlidingWindow {
	private times: number[] = [];

	constructor(private readonly windowMs: number) {}

	add(now: number): void {
		this.times.push(now);
	}

	/** Events within the window ending at `now`; older ones are dropped. */
	count(now: number): number {
		while (this.times.length > 0 && (this.times[0] ?? now) <= now - this.windowMs) this.times.shift();
		return this.times.length;
	}
}
