// A small TCP proxy on 127.0.0.1 in front of the dev server, one listener per
// soak client, so that faults can be aimed at one client's connections:
//
// - terminate: both ends of every connection are torn down at once (no close
//   frame), as when a laptop lid closes or a phone changes networks;
// - blackhole: nothing is forwarded either way, nothing is closed. New
//   connections are accepted but not forwarded either (a connection attempt
//   into a blackhole hangs). When the blackhole ends, whatever the kernel
//   buffered flows again, including a close the server sent meanwhile (its
//   heartbeat gave up on the socket): the client then hears about it, as it
//   would once a real network came back;
// - hold one direction only (tests that need frames to cross in a set order);
// - slow reader: what the server sends reaches the client late and at a
//   limited rate, in order.
//
// The proxy never reads or changes the WebSocket frames it forwards.
import { connect, createServer, type Server, type Socket } from "node:net";
import { listenOnLoopback } from "../test/e2e/process-group.ts";

export interface SlowReader {
	/** Every chunk from the server waits at least this long. */
	latencyMs: number;
	/** And the client reads at most this many bytes a second. */
	bytesPerSec: number;
}

/** `up`: client → server; `down`: server → client. */
export type Direction = "up" | "down";

interface Link {
	readonly client: Socket;
	upstream: Socket | null;
	/** Chunks from the server not yet written to the client (held or slow). */
	readonly toClient: { chunk: Buffer; notBefore: number }[];
	/** When the slow reader's last chunk was (or will be) written. */
	lastWrite: number;
	flushTimer: NodeJS.Timeout | null;
	/** The server ended its side: end the client's once `toClient` is empty. */
	upstreamEnded: boolean;
	done: boolean;
}

export class FaultProxy {
	private readonly server: Server;
	readonly port: number;
	private readonly targetPort: number;
	private readonly links = new Set<Link>();
	private readonly held = { up: false, down: false };
	private blackholeTimer: NodeJS.Timeout | null = null;
	private blackholeEnds = 0;
	/** Set to make this client a slow reader; null for a normal one. */
	slow: SlowReader | null = null;
	/** Connections accepted so far. */
	accepted = 0;

	private constructor(server: Server, port: number, targetPort: number) {
		this.server = server;
		this.port = port;
		this.targetPort = targetPort;
		server.on("connection", (socket) => this.accept(socket));
	}

	/** Listens on a free port of 127.0.0.1 and forwards to `127.0.0.1:targetPort`. */
	static async listen(targetPort: number): Promise<FaultProxy> {
		const server = createServer({ allowHalfOpen: true, noDelay: true });
		return new FaultProxy(server, await listenOnLoopback(server), targetPort);
	}

	/** Nothing flows either way (a blackhole, or both directions held). */
	get blackholed(): boolean {
		return this.held.up && this.held.down;
	}

	/** Connections currently open through this proxy. */
	get open(): number {
		return this.links.size;
	}

	/** Tears down every connection of this client, both ends, without a close frame. Returns how many. */
	terminate(): number {
		const n = this.links.size;
		for (const link of [...this.links]) this.drop(link, Math.random() < 0.5 ? "reset" : "destroy");
		return n;
	}

	/**
	 * Stops forwarding anything, both ways, for `ms` (extending a blackhole
	 * already in progress to whichever ends later). Nothing is closed.
	 */
	blackhole(ms: number): void {
		const until = Date.now() + ms;
		if (this.blackholeTimer !== null) {
			if (until <= this.blackholeEnds) return;
			clearTimeout(this.blackholeTimer);
		}
		this.blackholeEnds = until;
		this.blackholeTimer = setTimeout(() => this.release(), ms);
		this.hold("up");
		this.hold("down");
	}

	/** Stops forwarding one direction of every connection until `release()`. */
	hold(direction: Direction): void {
		this.held[direction] = true;
		for (const link of this.links) this.apply(link);
	}

	/** Ends a blackhole or hold now: buffered traffic flows, held connection attempts go through. */
	release(direction?: Direction): void {
		if (direction === undefined || this.blackholeTimer !== null) {
			if (this.blackholeTimer !== null) clearTimeout(this.blackholeTimer);
			this.blackholeTimer = null;
			this.held.up = false;
			this.held.down = false;
		} else this.held[direction] = false;
		for (const link of [...this.links]) this.apply(link);
	}

	/** Stops listening and drops every connection. */
	close(): Promise<void> {
		if (this.blackholeTimer !== null) clearTimeout(this.blackholeTimer);
		this.blackholeTimer = null;
		for (const link of [...this.links]) this.drop(link, "destroy");
		return new Promise((resolve) => this.server.close(() => resolve()));
	}

	// ---- plumbing ----------------------------------------------------------------

	private accept(client: Socket): void {
		this.accepted++;
		client.setNoDelay(true);
		const link: Link = {
			client,
			upstream: null,
			toClient: [],
			lastWrite: 0,
			flushTimer: null,
			upstreamEnded: false,
			done: false,
		};
		this.links.add(link);
		client.on("error", () => this.drop(link, "destroy"));
		client.on("close", () => this.drop(link, "destroy"));
		client.on("end", () => link.upstream?.end());
		client.on("data", (chunk: Buffer) => link.upstream?.write(chunk));
		client.pause();
		this.apply(link);
	}

	private connectUpstream(link: Link): void {
		const upstream = connect({ host: "127.0.0.1", port: this.targetPort, allowHalfOpen: true, noDelay: true });
		link.upstream = upstream;
		upstream.on("error", () => this.drop(link, "destroy"));
		// A server that ended its side cleanly: what it sent still reaches the
		// client (late, for a slow reader), then the client's side ends too.
		upstream.on("close", (hadError) => {
			if (hadError || !link.upstreamEnded) this.drop(link, "destroy");
		});
		upstream.on("end", () => {
			link.upstreamEnded = true;
			this.flush(link);
		});
		upstream.on("data", (chunk: Buffer) => {
			link.toClient.push({ chunk, notBefore: Date.now() + (this.slow?.latencyMs ?? 0) });
			this.flush(link);
		});
	}

	/** Pauses or resumes each side of a link as the holds say. */
	private apply(link: Link): void {
		if (link.done) return;
		// A connection attempt into a blackhole hangs: it reaches the server only when the blackhole ends.
		if (link.upstream === null) {
			if (this.blackholed) return;
			this.connectUpstream(link);
		}
		if (this.held.up) link.client.pause();
		else link.client.resume();
		if (this.held.down) {
			link.upstream?.pause();
			if (link.flushTimer !== null) clearTimeout(link.flushTimer);
			link.flushTimer = null;
		} else {
			link.upstream?.resume();
			this.flush(link);
		}
	}

	/** Writes what the server sent to the client, as fast as the slow-reader setting lets it. */
	private flush(link: Link): void {
		if (link.done || this.held.down || link.flushTimer !== null) return;
		const slow = this.slow;
		for (;;) {
			const next = link.toClient[0];
			if (!next) break;
			const now = Date.now();
			const at = slow ? Math.max(next.notBefore, link.lastWrite + (next.chunk.length * 1000) / slow.bytesPerSec) : now;
			if (at > now) {
				link.flushTimer = setTimeout(() => {
					link.flushTimer = null;
					this.flush(link);
				}, at - now);
				return;
			}
			link.toClient.shift();
			link.lastWrite = Math.max(now, at);
			link.client.write(next.chunk);
		}
		if (link.upstreamEnded) link.client.end();
	}

	private drop(link: Link, how: "reset" | "destroy"): void {
		if (link.done) return;
		link.done = true;
		this.links.delete(link);
		if (link.flushTimer !== null) clearTimeout(link.flushTimer);
		for (const socket of [link.client, link.upstream]) {
			if (!socket || socket.destroyed) continue;
			if (how === "reset") socket.resetAndDestroy();
			else socket.destroy();
		}
	}
}
