// The optional sound on a match and on a message: off by default, turned on
// by its checkbox (remembered in localStorage). A short tone made with the Web
// Audio API, so there is no audio file to fetch (and nothing for the CSP to
// allow). Every tone played is announced as a `flamingo:sound` window event
// ({kind}), the hook tests observe instead of listening for audio.
import { loadFlag, saveFlag } from "./prefs";

const KEY = "flamingo.sound";
export const SOUND_EVENT = "flamingo:sound";
export type SoundKind = "match" | "message";

/** Two rising notes for a stranger, one soft note for a message. */
const TONES: Record<SoundKind, { freq: number; at: number }[]> = {
	match: [
		{ freq: 660, at: 0 },
		{ freq: 880, at: 0.12 },
	],
	message: [{ freq: 740, at: 0 }],
};
const NOTE_S = 0.1;

export interface Sound {
	play(kind: SoundKind): void;
}

export function createSound(toggle: HTMLInputElement): Sound {
	let context: AudioContext | null = null;
	toggle.checked = loadFlag(KEY);

	/** Browsers start audio only after a gesture: the context is made (or resumed) in one when it can be. */
	const wake = () => {
		if (!toggle.checked) return null;
		try {
			context ??= new AudioContext();
			if (context.state === "suspended") void context.resume().catch(() => {});
		} catch {
			context = null; // no audio here: the event still tells that a tone was due
		}
		return context;
	};
	toggle.addEventListener("change", () => {
		saveFlag(KEY, toggle.checked);
		wake();
	});
	document.addEventListener("pointerdown", wake, { passive: true });
	document.addEventListener("keydown", wake);

	const tone = (ctx: AudioContext, freq: number, at: number) => {
		const start = ctx.currentTime + at;
		const osc = ctx.createOscillator();
		const gain = ctx.createGain();
		osc.type = "sine";
		osc.frequency.value = freq;
		// A quick fade in and out: no click at either end.
		gain.gain.setValueAtTime(0, start);
		gain.gain.linearRampToValueAtTime(0.15, start + 0.01);
		gain.gain.exponentialRampToValueAtTime(0.001, start + NOTE_S);
		osc.connect(gain).connect(ctx.destination);
		osc.start(start);
		osc.stop(start + NOTE_S + 0.02);
	};

	return {
		play: (kind) => {
			if (!toggle.checked) return;
			const ctx = wake();
			if (ctx) {
				try {
					for (const { freq, at } of TONES[kind]) tone(ctx, freq, at);
				} catch {
					// the audio device went away: silence, nothing breaks
				}
			}
			window.dispatchEvent(new CustomEvent(SOUND_EVENT, { detail: { kind } }));
		},
	};
}
