// Tiny DOM helpers. Text always goes in through textContent, never as HTML.

/** The element with this id, which index.html must have. */
export function byId<T extends HTMLElement = HTMLElement>(id: string): T {
	const el = document.getElementById(id);
	if (!el) throw new Error(`index.html has no #${id}`);
	return el as T;
}

/** Shows or hides an element (the `hidden` attribute), touching the DOM only on a change. */
export function show(el: HTMLElement, visible: boolean): void {
	if (el.hidden === visible) el.hidden = !visible;
}

/** Sets an element's text, touching the DOM only on a change. */
export function setText(el: HTMLElement, text: string): void {
	if (el.textContent !== text) el.textContent = text;
}

const SVG = "http://www.w3.org/2000/svg";

/** The small "×" icon of remove and dismiss buttons. */
export function closeIcon(): SVGSVGElement {
	const svg = document.createElementNS(SVG, "svg");
	svg.setAttribute("viewBox", "0 0 16 16");
	svg.setAttribute("aria-hidden", "true");
	svg.setAttribute("focusable", "false");
	const path = document.createElementNS(SVG, "path");
	path.setAttribute("d", "M4 4l8 8M12 4l-8 8");
	path.setAttribute("stroke", "currentColor");
	path.setAttribute("stroke-width", "2");
	path.setAttribute("stroke-linecap", "round");
	svg.append(path);
	return svg;
}
