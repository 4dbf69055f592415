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
// - hold new connections (`holdConnects`): while the server restarts, a
//   connection attempt waits, as at an edge that stays up during a deploy,
//   and goes through once the server is back (`releaseConnects`);
// - slow reader: what the server sends reaches the client late and at a
//   limited rate, in order, nothing dropped; for the whole run (`slow`) or
//   for a spell (`slowFor`), after which what was held back flows at once.
//
// The proxy never reads or changes the WebSocket frames it forwards.
import { connect, createServer, type Server, type Socket } from "node:net";
import { listenOnLoopback } from "../test/e2e/process-group.ts";
import type { SlowReading } from "./fault.ts";

export type SlowReader = SlowReading;

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
	/** New connections wait instead of reaching the server (it is restarting). */
	private connectsHeld = false;
	private blackholeEnds = 0;
	/** Set to make this client a slow reader for good; null for a normal one. */
	slow: SlowReader | null = null;
	/** A spell of slow reading (`slowFor`), over `slow` while it lasts. */
	private spell: { reading: SlowReader; timer: NodeJS.Timeout; ends: number } | null = null;
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

	/** How the client reads now: a spell of slow reading, else `slow`, else null (at once). */
	get reading(): SlowReader | null {
		return this.spell?.reading ?? this.slow;
	}

	/**
	 * Makes the client a slow reader for `ms` (a spell already in progress is
	 * replaced if this one ends later). Nothing is dropped or closed; when the
	 * spell ends, whatever it held back flows at the usual pace.
	 */
	slowFor(ms: number, reading: SlowReader): void {
		const ends = Date.now() + ms;
		if (this.spell !== null) {
			if (ends <= this.spell.ends) return;
			clearTimeout(this.spell.timer);
		}
		this.spell = { reading, ends, timer: setTimeout(() => this.endSpell(), ms) };
	}

	/** Ends a spell of slow reading now (the drain). */
	endSpell(): void {
		if (this.spell === null) return;
		clearTimeout(this.spell.timer);
		this.spell = null;
		for (const link of [...this.links]) {
			if (link.flushTimer !== null) clearTimeout(link.flushTimer);
			link.flushTimer = null;
			this.flush(link);
		}
	}

	/** New connections wait (hang) instead of reaching the server, until `releaseConnects()`; open ones are untouched. */
	holdConnects(): void {
		this.connectsHeld = true;
	}

	/** Connections that waited go through now (unless a blackhole holds them). */
	releaseConnects(): void {
		this.connectsHeld = false;
		for (const link of [...this.links]) this.apply(link);
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
		if (this.spell !== null) clearTimeout(this.spell.timer);
		this.spell = null;
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
			link.toClient.push({ chunk, notBefore: Date.now() + (this.reading?.latencyMs ?? 0) });
			this.flush(link);
		});
	}

	/** Pauses or resumes each side of a link as the holds say. */
	private apply(link: Link): void {
		if (link.done) return;
		// A connection attempt into a blackhole hangs: it reaches the server only when the blackhole ends.
		if (link.upstream === null) {
			if (this.blackholed || this.connectsHeld) return;
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
		const slow = this.reading;
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
