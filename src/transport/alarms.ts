// The one alarm of a Durable Object, as both objects schedule it: each object
// owns one AlarmScheduler and asks it for its deadlines. Every `setAlarm` is a
// row written (billed), so it is called only when the earliest deadline moves
// earlier than the alarm pending; an alarm that fires before anything is due
// simply lets the object set the next one.

/** Where the rows `setAlarm` writes are counted (the object's RowMeter). */
export interface RowCounter {
	add(rows: number): void;
}

export class AlarmScheduler {
	/** The alarm set and not yet fired (null: none). Read once per wake with `getAlarm()`. */
	private pending: number | null = null;
	private running = false;
	/** While the alarm runs, what it and the events during it asked for, set once at its end. */
	private asked: number | null = null;

	constructor(
		private readonly ctx: DurableObjectState,
		private readonly rows: RowCounter,
	) {
		void ctx.blockConcurrencyWhile(async () => {
			this.pending = await ctx.storage.getAlarm();
		});
	}

	/** The alarm pending, as far as this object knows (null: none, or it has fired). */
	get pendingAt(): number | null {
		return this.pending;
	}

	/**
	 * Makes sure the alarm fires no later than `at`: sets it only when none is
	 * pending or `at` is earlier. While the alarm runs, only notes it.
	 */
	fireBy(at: number): void {
		if (this.running) {
			this.asked = Math.min(this.asked ?? at, at);
			return;
		}
		if (this.pending !== null && this.pending <= at) return;
		this.set(at);
	}

	/** Sets the alarm at exactly `at`, replacing the one pending and anything asked during a run. */
	replace(at: number): void {
		this.asked = null;
		this.set(at);
	}

	/**
	 * The alarm fired: nothing is pending any more, and until `finish` the
	 * deadlines asked for are gathered and set once, at its end.
	 */
	begin(): void {
		this.pending = null;
		this.running = true;
	}

	/** The alarm run is over: one `setAlarm` (if anything was asked), never before `notBefore`. */
	finish(notBefore: number): void {
		this.running = false;
		const at = this.asked;
		this.asked = null;
		if (at !== null) this.fireBy(Math.max(notBefore, at));
	}

	private set(at: number): void {
		this.pending = at;
		this.rows.add(1);
		void this.ctx.storage.setAlarm(at);
	}
}
