// The optional browser notification when a stranger is found while the tab
// is hidden (someone waiting in another tab would otherwise miss the chat,
// which is abandoned if not joined within a minute). Off by default; the
// browser is asked for permission only when the person turns it on, and the
// choice is remembered in localStorage. Browsers without notifications do not
// show the checkbox.
import type { Announce } from "./announce";
import { show } from "./dom";
import { loadFlag, saveFlag } from "./prefs";
import { NOTIFY } from "./texts";

const KEY = "flamingo.notify";

export interface Notifier {
	matched(): void;
}

const supported = () => typeof Notification === "function";

export function createNotifier(toggle: HTMLInputElement, line: HTMLElement, announce: Announce): Notifier {
	show(line, supported());
	if (!supported()) return { matched: () => {} };
	// Remembered on, but only checked while the browser still allows it.
	toggle.checked = loadFlag(KEY) && Notification.permission === "granted";

	toggle.addEventListener("change", async () => {
		if (!toggle.checked) {
			saveFlag(KEY, false);
			return;
		}
		let permission: NotificationPermission = "denied";
		try {
			permission = await Notification.requestPermission();
		} catch {
			// an old browser's callback form, or refused outright: treated as denied
		}
		const on = permission === "granted";
		toggle.checked = on;
		saveFlag(KEY, on);
		if (!on) announce(NOTIFY.blocked);
	});

	return {
		matched: () => {
			if (!toggle.checked || !document.hidden || Notification.permission !== "granted") return;
			try {
				const n = new Notification(NOTIFY.title, { body: NOTIFY.body, tag: "flamingo-match" });
				n.onclick = () => {
					window.focus();
					n.close();
				};
			} catch {
				// some browsers only allow notifications from a service worker: the title still says it
			}
		},
	};
}
