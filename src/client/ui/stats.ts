// The online counter: GET /api/stats, at most once every 10 s, and not while
// the page is in the background. "—" when the server cannot be asked. The
// count in the lobby's `ready` (always fresh, where /api/stats may be 2 s old
// and miss ourselves) is shown as soon as it comes.
import { setText } from "./dom";

const INTERVAL_MS = 10_000;
const TIMEOUT_MS = 8_000;

export interface OnlineCount {
	/** A fresher figure from elsewhere (`ready.presence.online`). */
	show(online: number): void;
}

export function pollOnlineCount(el: HTMLElement): OnlineCount {
	let timer: ReturnType<typeof setTimeout> | undefined;
	let lastFetch = Number.NEGATIVE_INFINITY;
	let inFlight = false;
	/** When a fresher figure was shown; answers to requests sent before it are dropped. */
	let shownAt = Number.NEGATIVE_INFINITY;

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
		let text = "—";
		try {
			const res = await fetch("/api/stats", { cache: "no-store", signal: AbortSignal.timeout(TIMEOUT_MS) });
			const body: unknown = res.ok ? await res.json() : null;
			const online = (body as { online?: unknown } | null)?.online;
			if (typeof online === "number" && Number.isFinite(online)) text = String(online);
		} catch {
			// offline, timed out, or not JSON: "—"
		} finally {
			if (sentAt >= shownAt) setText(el, text);
			inFlight = false;
			schedule();
		}
	};

	document.addEventListener("visibilitychange", schedule);
	schedule();
	return {
		show: (online) => {
			shownAt = Date.now();
			setText(el, String(online));
		},
	};
}
