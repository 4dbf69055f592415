// A minimal Chrome DevTools Protocol client for the runtime's V8, through
// wrangler's inspector port (`--inspector-port`): CPU profiles
// (bench/profile.ts) and JavaScript heap usage (the memory scenario).
import WebSocket from "ws";

export class Inspector {
	private id = 0;
	private readonly pending = new Map<number, (result: unknown) => void>();
	private readonly ws: WebSocket;
	private constructor(ws: WebSocket) {
		this.ws = ws;
		ws.on("message", (data) => {
			const msg = JSON.parse(data.toString()) as { id?: number; result?: unknown; error?: unknown };
			if (msg.id !== undefined) this.pending.get(msg.id)?.(msg.error ? { error: msg.error } : msg.result);
		});
	}
	/** Attaches to the target whose title names `worker` (the wrangler config's `name`), else the first. */
	static async attach(port: number, worker = "flamingo-chat"): Promise<Inspector> {
		const targets = (await (await fetch(`http://127.0.0.1:${port}/json`)).json()) as {
			title?: string;
			webSocketDebuggerUrl: string;
		}[];
		const target = targets.find((t) => t.title?.includes(worker)) ?? targets[0];
		if (!target) throw new Error("the inspector lists no target");
		const ws = new WebSocket(target.webSocketDebuggerUrl);
		await new Promise<void>((resolve, reject) => {
			ws.once("open", () => resolve());
			ws.once("error", reject);
		});
		return new Inspector(ws);
	}
	call(method: string, params: object = {}): Promise<unknown> {
		const id = ++this.id;
		return new Promise((resolve, reject) => {
			const timer = setTimeout(() => reject(new Error(`${method} timed out`)), 60_000);
			this.pending.set(id, (r) => {
				clearTimeout(timer);
				this.pending.delete(id);
				resolve(r);
			});
			this.ws.send(JSON.stringify({ id, method, params }));
		});
	}
	close(): void {
		this.ws.close();
	}

	/**
	 * Bytes of the isolate's heap in use after a full garbage collection: V8's
	 * own heap plus the embedder's (the runtime's API objects, sockets among
	 * them). workerd's inspector has no HeapProfiler.collectGarbage; a heap
	 * snapshot collects first (its chunks are ignored).
	 */
	async heapUsedAfterGc(): Promise<number> {
		await this.call("HeapProfiler.enable");
		await this.call("HeapProfiler.takeHeapSnapshot", { reportProgress: false });
		await this.call("HeapProfiler.disable");
		const usage = (await this.call("Runtime.getHeapUsage")) as { usedSize?: number; embedderHeapUsedSize?: number };
		if (typeof usage?.usedSize !== "number") throw new Error("Runtime.getHeapUsage gave no usedSize");
		return usage.usedSize + (usage.embedderHeapUsedSize ?? 0);
	}
}
