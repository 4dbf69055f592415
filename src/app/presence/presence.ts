// The Presence object: what `/api/stats` answers, off the Matchmaker. Every
// open tab polls the stats; had each poll reached the singleton, 10,000 tabs
// would spend its whole budget (the Cache API does nothing on workers.dev).
// Instead the Matchmaker publishes its counters here, at most every 2 s and
// only when they changed, and the Worker reads them from here through a
// per-isolate memory cache (src/server/stats.ts).
//
// One per Matchmaker (named like it). The counters are kept in memory and written
// through to storage, so a Presence object woken after a quiet spell still
// answers with the last counters published, without asking the Matchmaker.
import { DurableObject } from "cloudflare:workers";
import type { Env } from "../../env";
import type { Stats } from "../../protocol/schemas";

const KEY = "stats";

/** Before the Matchmaker has published anything: nobody is around. */
export const NO_STATS: Stats = {
	online: 0,
	waiting: 0,
	chatting: 0,
	active_chats: 0,
	reports_24h: 0,
	challenges_24h: 0,
};

export class Presence extends DurableObject<Env> {
	private stats: Stats | undefined;
	/** Publications received since this instance started (tests and the hostile-load benchmark read it). */
	published = 0;

	/** The Matchmaker's counters, as of its last change. */
	publish(stats: Stats): void {
		this.stats = stats;
		this.published++;
		this.ctx.storage.kv.put(KEY, stats);
	}

	read(): Stats {
		this.stats ??= this.ctx.storage.kv.get<Stats>(KEY) ?? NO_STATS;
		return this.stats;
	}
}
