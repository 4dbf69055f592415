// reconnecting.ts creates a socket's first attempt at once and hands it to
// partysocket: one socket per first attempt, whatever the socket reports as
// its `url` (a browser normalises what it was given; a WebSocket passed in
// the options may route it elsewhere and report that).
import { describe, expect, it } from "vitest";
import { reconnecting } from "../../src/client/reconnecting";

/** A socket that says it is somewhere else (as through a proxy), and opens from the next task. */
class ProxiedSocket extends EventTarget {
	static readonly CONNECTING = 0;
	static readonly OPEN = 1;
	static readonly CLOSING = 2;
	static readonly CLOSED = 3;
	static readonly made: ProxiedSocket[] = [];

	readyState = ProxiedSocket.CONNECTING;
	binaryType = "blob";
	closedBy: number | null = null;
	readonly url: string;

	constructor(readonly asked: string) {
		super();
		this.url = asked.replace("//chat.example", "//127.0.0.1:9");
		ProxiedSocket.made.push(this);
		setTimeout(() => {
			if (this.readyState !== ProxiedSocket.CONNECTING) return;
			this.readyState = ProxiedSocket.OPEN;
			this.dispatchEvent(new Event("open"));
		});
	}

	send(): void {}

	close(code = 1000): void {
		if (this.readyState === ProxiedSocket.CLOSED) return;
		this.readyState = ProxiedSocket.CLOSED;
		this.closedBy = code;
	}
}

describe("reconnecting: the first attempt", () => {
	it("is the socket partysocket uses, one socket in all, also when the socket reports another url", async () => {
		const address = "wss://chat.example/ws/chat/abc?ticket=t&after=0";
		const ws = reconnecting(address, () => true, {
			WebSocket: ProxiedSocket as unknown as typeof WebSocket,
			minDelayMs: 100,
			maxDelayMs: 1000,
		});
		const opened = new Promise<void>((resolve, reject) => {
			const timer = setTimeout(() => reject(new Error("no open event within 2 s")), 2_000);
			ws.addEventListener("open", () => {
				clearTimeout(timer);
				resolve();
			});
		});
		await opened;
		expect(ProxiedSocket.made.map((s) => s.asked)).toEqual([address]);
		expect(ProxiedSocket.made[0]?.closedBy).toBeNull();
		expect(ws.readyState).toBe(ProxiedSocket.OPEN);
		ws.close();
	});
});
