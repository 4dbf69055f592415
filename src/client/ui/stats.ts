// The online counter. "N online" must be true: it showed "1 online" to
// someone chatting with a stranger, from a `ready` of before the match, in a
// tab that was in the background and so never polled. The figure shown is
// the freshest of:
//   - `ready.presence.online`, exact at the moment it came;
//   - GET /api/stats, polled every 10 s while the page is visible only (none
//     in the background; at once when it is visible again), dated 4 s before
//     the request was sent, since the server publishes at most every 2 s and
//     caches the answer for 2 s: an answer that may be older than the figure
//     shown is dropped;
// raised to what the page's own snapshot proves now (atLeast: this person,
// plus the stranger they chat with, or the people waiting with them). A
// figure older than a poll's interval, timeout and lag (the page was in the
// background, or the server cannot be asked) shows "—", not an old number.
import type { Snapshot } from "../flamingo-client";
import { setText } from "./dom";

const INTERVAL_MS = 10_000;
const TIMEOUT_MS = 8_000;
/** How old an /api/stats answer may be when it is sent (published every 2 s, cached 2 s). */
const STATS_LAG_MS = 4_000;
/** Older than this, a figure is not shown: the next poll should have replaced it. */
const MAX_AGE_MS = INTERVAL_MS + TIMEOUT_MS + STATS_LAG_MS;

export interface OnlineCount {
	/** An exact figure of now (`ready.presence.online`). */
	exact(online: number): void;
	/** What the page knows for sure now: at least this many are online (0: nothing known). */
	atLeast(n: number): void;
}

export function pollOnlineCount(el: HTMLElement): OnlineCount {
	let timer: ReturnType<typeof setTimeout> | undefined;
	let expiry: ReturnType<typeof setTimeout> | undefined;
	let lastFetch = Number.NEGATIVE_INFINITY;
	let inFlight = false;
	/** The freshest figure, and when it was true (local clock). */
	let figure: { online: number; at: number } | null = null;
	let floor = 0;

	const render = () => {
		clearTimeout(expiry);
		const age = figure ? Date.now() - figure.at : Number.POSITIVE_INFINITY;
		if (!figure || age >= MAX_AGE_MS) {
			setText(el, "—");
			return;
		}
		setText(el, String(Math.max(figure.online, floor)));
		expiry = setTimeout(render, MAX_AGE_MS - age);
	};

	const take = (online: number, at: number) => {
		if (figure && at < figure.at) return; // a fresher one is shown
		figure = { online, at };
		render();
	};

	const schedule = () => {
		clearTimeout(timer);
		timer = undefined;
		if (document.hidden || inFlight) return;
		timer = setTimeout(run, Math.max(0, lastFetch + INTERVAL_MS - Date.now()));
	};

	const run = async () => {
		timer = undefined;
		if (document.hidden || inFlight || Date.now() - lastFetch < INTERVAL_MS) return schedule();
		inFlight = true;
		const sentAt = Date.now();
		lastFetch = sentAt;
		try {
			const res = await fetch("/api/stats", { cache: "no-store", signal: AbortSignal.timeout(TIMEOUT_MS) });
			const body: unknown = res.ok ? await res.json() : null;
			const online = (body as { online?: unknown } | null)?.online;
			if (typeof online === "number" && Number.isFinite(online)) take(online, sentAt - STATS_LAG_MS);
		} catch {
			// offline, timed out, or not JSON: the figure shown ages out to "—"
		} finally {
			inFlight = false;
			render();
			schedule();
		}
	};

	document.addEventListener("visibilitychange", () => {
		render();
		schedule();
	});
	schedule();
	return {
		exact: (online) => take(online, Date.now()),
		atLeast: (n) => {
			if (n === floor) return;
			floor = n;
			render();
		},
	};
}

/** How many are online for sure, by this page's own snapshot: us, and the stranger we chat with or the queue we are in. */
export function knownOnline(s: Snapshot): number {
	if (!s.connected) return 0;
	if (s.phase === "chatting") return s.partnerOnline ? 2 : 1;
	if (s.phase === "waiting") return Math.max(1, s.waiting ?? 1);
	return 1;
}
