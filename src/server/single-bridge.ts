// The sockets of `/ws/single` (PROTOCOL.md "One socket for everything"). The
// Durable Objects keep only hibernatable sockets, so the one socket of an
// original-style client is carried here, in the Worker: its end is accepted
// in this request, and each frame is relayed to one upstream socket, the
// lobby's, then the chat's, then a fresh lobby's. What a frame means is
// decided by SingleSocket (single-socket.ts); this file only moves frames.
//
// The cost is the Worker's: this request stays open (never hibernated) while
// the client's socket is, and every frame costs a little Worker CPU in each
// direction (docs/ARCHITECTURE.md, "The Worker").
import { LIMITS } from "../config";
import { SocketLimits } from "../domain/limits/socket-limits";
import { errorText, log } from "../log";
import { CLOSE_RATE_LIMITED } from "../protocol/close-codes";
import { closeSocket, refuseRateLimited, refuseSocket, sendFrame } from "../transport/sockets";
import { chatQuery, type Move, SingleSocket, sendableClose } from "./single-socket";

/** Anything with a `fetch` that can answer an upgrade: a Durable Object stub. */
interface Upgrades {
	fetch(request: Request): Promise<Response>;
}

/** Where the bridge's upstreams live (tests pass their own Matchmaker). */
export interface SingleSocketObjects {
	lobby(): Upgrades;
	chat(chatId: string): Upgrades;
}

/**
 * Client frames held while an upstream is being opened (or the lobby has not
 * answered `init`). Twice the burst any socket may send (LIMITS.frame); a
 * client that sends more before the upstream is up is flooding.
 */
export const MAX_HELD_FRAMES = 2 * LIMITS.frame.burst;

/** Why a socket was closed because an upstream could not be opened. */
const CLOSE_UPSTREAM_FAILED = { code: 1011, reason: "internal error" } as const;
/** How the bridge closes an upstream it is done with (the client goes on elsewhere). */
const CLOSE_MOVED = { code: 1000, reason: "single socket moved on" } as const;

type Opened = { ok: true; ws: WebSocket } | { ok: false; response?: Response; error?: string };

/** Opens an upstream socket: its end accepted here, or why not. */
async function open(target: Upgrades, request: Request): Promise<Opened> {
	let response: Response;
	try {
		response = await target.fetch(request);
	} catch (err) {
		return { ok: false, error: errorText(err) };
	}
	const ws = response.webSocket;
	if (!ws) return { ok: false, response, error: `no socket (HTTP ${response.status})` };
	ws.accept();
	return { ok: true, ws };
}

/** A request for an upstream socket: the client's headers (Origin, CF-Connecting-IP, Upgrade) at another path. */
function upstreamRequest(client: Request, path: string, query = ""): Request {
	const url = new URL(client.url);
	url.pathname = path;
	url.search = query;
	return new Request(url, { headers: client.headers });
}

/**
 * Answers `GET /ws/single` (already through the Worker's upgrade guard). The
 * lobby socket is opened before the upgrade completes, so its refusals (the
 * per-address socket cap, 429) reach the client as on `/ws`.
 */
export async function singleSocket(request: Request, objects: SingleSocketObjects): Promise<Response> {
	const lobby = await open(objects.lobby(), upstreamRequest(request, "/ws"));
	if (!lobby.ok) {
		if (lobby.response && lobby.response.status !== 101) return lobby.response;
		log({ event: "internal_error", where: "single socket: open lobby", error: lobby.error ?? "unknown" });
		return refuseSocket(CLOSE_UPSTREAM_FAILED);
	}
	const pair = new WebSocketPair();
	const client = pair[1];
	client.accept();
	new Bridge(client, request, objects).attach(lobby.ws);
	return new Response(null, { status: 101, webSocket: pair[0] });
}

class Bridge {
	private readonly machine = new SingleSocket();
	/** The upstream frames go to; null while the next one is being opened. */
	private upstream: WebSocket | null = null;
	private opening = false;
	/** A client `init` the lobby has not answered: what follows waits, it may go to a chat. */
	private awaitingInit = false;
	private readonly held: (string | ArrayBuffer)[] = [];
	private done = false;
	/** The limits of the frames the Worker answers itself (the objects limit the rest). */
	private readonly limits = new SocketLimits(LIMITS.frame, Date.now());

	constructor(
		private readonly client: WebSocket,
		private readonly request: Request,
		private readonly objects: SingleSocketObjects,
	) {
		client.addEventListener("message", (e) => this.fromClient(e.data));
		client.addEventListener("close", (e) => this.clientGone(e.code, e.reason));
		client.addEventListener("error", () => this.clientGone(1011, "client socket error"));
	}

	/** Makes `ws` the current upstream; frames and closes of any earlier one are no longer heard. */
	attach(ws: WebSocket): void {
		this.upstream = ws;
		ws.addEventListener("message", (e) => {
			if (this.upstream === ws) this.fromUpstream(e.data);
		});
		ws.addEventListener("close", (e) => {
			if (this.upstream === ws) this.finish(sendableClose(e.code, e.reason));
		});
		ws.addEventListener("error", () => {
			if (this.upstream !== ws) return;
			log({ event: "internal_error", where: `single socket: ${this.machine.phase} upstream`, error: "socket error" });
			this.finish(CLOSE_UPSTREAM_FAILED);
		});
	}

	private get holding(): boolean {
		return this.opening || this.awaitingInit;
	}

	private fromClient(frame: string | ArrayBuffer): void {
		if (this.done) return;
		if (this.holding) {
			if (this.held.length >= MAX_HELD_FRAMES) this.finish(CLOSE_RATE_LIMITED);
			else this.held.push(frame);
			return;
		}
		this.dispatch(frame);
	}

	/** One client frame, decided now: to the upstream, or answered here. */
	private dispatch(frame: string | ArrayBuffer): void {
		const step = this.machine.fromClient(frame);
		if (step.kind === "answer") {
			const now = Date.now();
			const verdict = this.limits.check(now, false);
			if (!verdict.ok) {
				if (refuseRateLimited(this.client, this.machine.phase, verdict, step.requestType))
					this.finish(CLOSE_RATE_LIMITED);
				return;
			}
			sendFrame(this.client, step.frame);
			return;
		}
		if (step.awaitsInit) this.awaitingInit = true;
		if (this.upstream) sendFrame(this.upstream, frame);
	}

	/** Held frames go on, in order, until something makes the bridge hold again. */
	private drain(): void {
		while (!this.holding && !this.done && this.held.length > 0) {
			this.dispatch(this.held.shift() as string | ArrayBuffer);
		}
	}

	private fromUpstream(frame: string | ArrayBuffer): void {
		const step = this.machine.fromUpstream(frame);
		if (step.forward) sendFrame(this.client, frame);
		if (step.move) this.move(step.move);
		if (step.answeredInit) {
			this.awaitingInit = false;
			this.drain();
		}
	}

	/** To the chat's object, or back to a fresh lobby socket; client frames wait meanwhile. */
	private move(move: Move): void {
		const old = this.upstream;
		this.upstream = null;
		this.opening = true;
		// Its own close (1000 "matched", 1000 "chat ended") is not the client's business.
		if (old) closeSocket(old, CLOSE_MOVED);
		const request =
			move.to === "chat"
				? upstreamRequest(this.request, `/ws/chat/${move.chatId}`, chatQuery(move.ticket, move.after))
				: upstreamRequest(this.request, "/ws");
		const target = move.to === "chat" ? this.objects.chat(move.chatId) : this.objects.lobby();
		void open(target, request).then((opened) => {
			if (!opened.ok) {
				log({ event: "internal_error", where: `single socket: open ${move.to}`, error: opened.error ?? "unknown" });
				return this.finish(CLOSE_UPSTREAM_FAILED);
			}
			if (this.done) return closeSocket(opened.ws, CLOSE_MOVED);
			this.opening = false;
			this.attach(opened.ws);
			if (move.to === "lobby" && move.init) sendFrame(opened.ws, move.init);
			this.drain();
		});
	}

	/** The client left: its upstream goes too, with the client's code. */
	private clientGone(code: number, reason: string): void {
		if (this.done) return;
		this.done = true;
		this.held.length = 0;
		if (this.upstream) closeSocket(this.upstream, sendableClose(code, reason));
		this.upstream = null;
	}

	/** The bridge ends: the client hears `close` (an upstream's own close, passed on), the upstream is closed. */
	private finish(close: { code: number; reason: string }): void {
		if (this.done) return;
		this.done = true;
		this.held.length = 0;
		const upstream = this.upstream;
		this.upstream = null;
		if (upstream) closeSocket(upstream, close);
		closeSocket(this.client, close);
	}
}
