// A lean WebSocket client for load: `ws` without compression, JSON frames,
// timestamps taken when a frame is read. Frames are buffered by type until
// someone waits for them, unless a hot-path handler takes them first.
import WebSocket from "ws";

export interface Frame {
	type: string;
	// biome-ignore lint/suspicious/noExplicitAny: frames of three different servers, read by field
	payload: any;
}

export interface Received {
	frame: Frame;
	/** performance.now() when it was read. */
	at: number;
}

interface Waiter {
	type: string;
	resolve: (r: Received) => void;
	reject: (err: Error) => void;
	timer: NodeJS.Timeout;
}

export class Sock {
	/** Hot path: when set, gets every frame and nothing is buffered. */
	onFrame: ((frame: Frame, at: number) => void) | null = null;
	closeInfo: { code: number; reason: string; at: number } | null = null;
	onClose: ((code: number, reason: string) => void) | null = null;
	private readonly buffered = new Map<string, Received[]>();
	private readonly waiters: Waiter[] = [];

	readonly ws: WebSocket;
	readonly url: string;

	constructor(ws: WebSocket, url: string) {
		this.ws = ws;
		this.url = url;
		ws.on("message", (data, isBinary) => {
			const at = performance.now();
			if (isBinary) return;
			let frame: Frame;
			try {
				frame = JSON.parse(data.toString()) as Frame;
			} catch {
				frame = { type: "__unparsable", payload: {} };
			}
			if (this.onFrame) return this.onFrame(frame, at);
			const i = this.waiters.findIndex((w) => w.type === frame.type);
			if (i >= 0) {
				const w = this.waiters.splice(i, 1)[0] as Waiter;
				clearTimeout(w.timer);
				w.resolve({ frame, at });
				return;
			}
			const list = this.buffered.get(frame.type) ?? [];
			list.push({ frame, at });
			this.buffered.set(frame.type, list);
		});
		ws.on("close", (code, reason) => {
			this.closeInfo = { code, reason: reason.toString(), at: performance.now() };
			for (const w of this.waiters.splice(0)) {
				clearTimeout(w.timer);
				w.reject(new Error(`socket closed (${code} ${reason.toString()}) while waiting for ${w.type}`));
			}
			this.onClose?.(code, reason.toString());
		});
		ws.on("error", () => {});
	}

	get isOpen(): boolean {
		return this.ws.readyState === WebSocket.OPEN;
	}

	send(event: object | string): void {
		if (this.ws.readyState === WebSocket.OPEN) this.ws.send(typeof event === "string" ? event : JSON.stringify(event));
	}

	/** A frame of `type` already received and not taken, if any. */
	take(type: string): Received | undefined {
		const list = this.buffered.get(type);
		return list && list.length > 0 ? list.shift() : undefined;
	}

	/** Count of buffered frames of `type`. */
	count(type: string): number {
		return this.buffered.get(type)?.length ?? 0;
	}

	waitFor(type: string, timeoutMs: number): Promise<Received> {
		const ready = this.take(type);
		if (ready) return Promise.resolve(ready);
		if (this.closeInfo) {
			return Promise.reject(new Error(`socket closed (${this.closeInfo.code}) before ${type}`));
		}
		return new Promise((resolve, reject) => {
			const waiter: Waiter = {
				type,
				resolve,
				reject,
				timer: setTimeout(() => {
					const i = this.waiters.indexOf(waiter);
					if (i >= 0) this.waiters.splice(i, 1);
					const errors = this.buffered.get("error")?.map((r) => JSON.stringify(r.frame.payload)) ?? [];
					reject(new Error(`timed out after ${timeoutMs} ms waiting for ${type} on ${this.url}; errors: ${errors}`));
				}, timeoutMs),
			};
			this.waiters.push(waiter);
		});
	}

	close(code = 1000, reason = "bench"): void {
		if (this.ws.readyState === WebSocket.OPEN || this.ws.readyState === WebSocket.CONNECTING) {
			try {
				this.ws.close(code, reason);
			} catch {
				this.ws.terminate();
			}
		}
	}

	terminate(): void {
		this.ws.terminate();
	}
}

/** Who a client claims to be: request headers (`CF-Connecting-IP`) and the local address its TCP socket binds to. */
export interface ClientAddress {
	headers?: Record<string, string>;
	localAddress?: string;
}

/** Opens a socket; rejects if the upgrade fails or takes longer than `timeoutMs`. */
export function open(url: string, timeoutMs = 10_000, from: ClientAddress = {}): Promise<Sock> {
	return new Promise((resolve, reject) => {
		const ws = new WebSocket(url, { perMessageDeflate: false, handshakeTimeout: timeoutMs, ...from });
		const sock = new Sock(ws, url);
		ws.once("open", () => resolve(sock));
		ws.once("unexpected-response", (req, res) => {
			req.destroy();
			reject(new Error(`upgrade of ${url} refused: HTTP ${res.statusCode}`));
		});
		ws.once("error", (err) => reject(new Error(`upgrade of ${url} failed: ${err.message}`)));
	});
}

/** Runs `fn` over `items` with at most `concurrency` in flight; collects results and errors. */
export async function pool<T, R>(
	items: readonly T[],
	concurrency: number,
	fn: (item: T, index: number) => Promise<R>,
): Promise<{ results: (R | undefined)[]; errors: string[] }> {
	const results: (R | undefined)[] = new Array(items.length);
	const errors: string[] = [];
	let next = 0;
	const worker = async () => {
		while (next < items.length) {
			const i = next++;
			try {
				results[i] = await fn(items[i] as T, i);
			} catch (err) {
				errors.push((err as Error).message);
			}
		}
	};
	await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker));
	return { results, errors };
}

/** Closes sockets in slices so the close storm does not swamp the server all at once; bounded in time. */
export async function closeAll(socks: readonly Sock[], timeoutMs = 10_000): Promise<void> {
	const deadline = Date.now() + timeoutMs;
	for (let i = 0; i < socks.length; i += 500) {
		for (const s of socks.slice(i, i + 500)) s.close();
		await new Promise((r) => setTimeout(r, 20));
	}
	while (Date.now() < deadline && socks.some((s) => s.closeInfo === null)) await new Promise((r) => setTimeout(r, 50));
	for (const s of socks) if (s.closeInfo === null) s.terminate();
}

/** Opens a lobby socket and completes `init` → `ready`; returns the socket. */
export async function openLobby(url: string, timeoutMs = 10_000, from: ClientAddress = {}): Promise<Sock> {
	const sock = await open(url, timeoutMs, from);
	sock.send({ type: "init", payload: {} });
	try {
		await sock.waitFor("ready", timeoutMs);
	} catch (err) {
		sock.terminate();
		throw err;
	}
	return sock;
}
