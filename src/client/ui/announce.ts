// The polite live region: incoming messages and status changes for screen readers.
// Each announcement is a new child, so two in a row are both read; old ones are pruned.

const KEEP = 4;

export type Announce = (text: string) => void;

export function createAnnouncer(region: HTMLElement): Announce {
	let last = "";
	let lastAt = 0;
	return (text) => {
		const now = Date.now();
		if (text === "" || (text === last && now - lastAt < 1000)) return;
		last = text;
		lastAt = now;
		const p = document.createElement("p");
		p.textContent = text;
		region.append(p);
		while (region.childElementCount > KEEP) region.firstElementChild?.remove();
	};
}
