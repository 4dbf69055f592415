// Sockets in the order they were opened, for the `init` deadline: the oldest
// is always at the front, so each alarm looks only at the sockets whose
// deadline has passed, never at every socket.

export class OpenOrder {
	private sockets: WebSocket[] = [];
	private opened: number[] = [];
	private head = 0;

	/** Adds a socket opened at `at` (never earlier than the last one added). */
	push(ws: WebSocket, at: number): void {
		this.sockets.push(ws);
		this.opened.push(at);
	}

	/** When the oldest socket still held was opened. */
	oldest(): number | undefined {
		return this.opened[this.head];
	}

	/** Removes and returns the sockets opened at or before `cutoff`. */
	takeOpenedBefore(cutoff: number): WebSocket[] {
		const start = this.head;
		while (this.head < this.opened.length && (this.opened[this.head] ?? cutoff + 1) <= cutoff) this.head++;
		const taken = this.sockets.slice(start, this.head);
		// Compact now and then, so the arrays follow the sockets still held.
		if (this.head > 1024 && this.head * 2 > this.sockets.length) {
			this.sockets = this.sockets.slice(this.head);
			this.opened = this.opened.slice(this.head);
			this.head = 0;
		}
		return taken;
	}
}
