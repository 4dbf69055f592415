// The hibernatable sockets of one Durable Object, as both objects handle
// them: each object owns one SocketHub (composition, in the spirit of the
// Agents SDK's `WebSockets`), and keeps only what is its own.
//
// - Restore: keep-alive pings are answered by the runtime (they never wake
//   the object), and after hibernation the sockets the runtime kept are read
//   back with their attachments (`kept`).
// - Attachments: each socket's, deserialised once and cached (`attachment`).
// - Liveness: when a socket was last heard from (`lastSeen`), and the sweep
//   that closes silent ones with CLOSE_HEARTBEAT_TIMEOUT, in slices, logged
//   as `heartbeat_timeout`.
import { log } from "../log";
import { CLOSE_HEARTBEAT_TIMEOUT } from "../protocol/close-codes";
import { PING_FRAME, PONG_FRAME } from "../protocol/codec";
import { attachmentOf, closeSocket } from "./sockets";

/** Sockets a sweep checks before it lets the object's other events run. */
export const SWEEP_SLICE = 500;

/** A macrotask boundary: events waiting for the object run before it resolves. */
const nextTurn = () => new Promise<void>((resolve) => setTimeout(resolve, 0));

/** What every socket's attachment carries: when it last sent a frame we handled (ms). */
export interface Seen {
	seen: number;
}

export class SocketHub<A extends Seen> {
	/** When the next periodic sweep is due (0: at the first chance). */
	private nextSweep = 0;

	/** `socket` names the sockets in the logs ("lobby" or "chat"). */
	constructor(
		private readonly ctx: DurableObjectState,
		readonly socket: "lobby" | "chat",
	) {
		ctx.setWebSocketAutoResponse(new WebSocketRequestResponsePair(PING_FRAME, PONG_FRAME));
	}

	/** A socket's attachment, as the object last wrote it (cached per socket object). */
	attachment(ws: WebSocket): A {
		return attachmentOf<A>(ws);
	}

	/**
	 * Every socket the runtime holds for this object, open or closing, with
	 * its attachment: after hibernation, what the object kept through it.
	 */
	kept(): { ws: WebSocket; att: A }[] {
		return this.ctx.getWebSockets().map((ws) => ({ ws, att: this.attachment(ws) }));
	}

	/** The open sockets (carrying `tag`, if given). */
	open(tag?: string): WebSocket[] {
		return this.ctx.getWebSockets(tag).filter((ws) => ws.readyState === WebSocket.OPEN);
	}

	/**
	 * When a socket was last heard from: the newer of the last frame we
	 * handled (in its attachment) and the last ping the runtime answered for us.
	 */
	lastSeen(ws: WebSocket): number {
		const auto = this.ctx.getWebSocketAutoResponseTimestamp(ws)?.getTime() ?? 0;
		return Math.max(auto, this.attachment(ws).seen);
	}

	/** When the next periodic sweep is due. */
	get nextSweepAt(): number {
		return this.nextSweep;
	}

	/**
	 * Whether the periodic sweep runs now (it is due, or `force`): if so, the
	 * next one is due `everyMs` from now.
	 */
	sweepDue(now: number, everyMs: number, force = false): boolean {
		if (now < this.nextSweep && !force) return false;
		this.nextSweep = now + everyMs;
		return true;
	}

	/**
	 * Closes the open sockets silent for longer than `timeoutMs`
	 * (CLOSE_HEARTBEAT_TIMEOUT: a closed tab does not always say goodbye);
	 * `closed` hears each one after its close. In slices of SWEEP_SLICE: with
	 * tens of thousands of sockets a walk in one piece would hold every other
	 * event up behind it. Synchronous while there is a single slice. Returns
	 * how many it closed, and logs them.
	 */
	sweepSilent(now: number, timeoutMs: number, closed: (ws: WebSocket) => void): number | Promise<number> {
		const sockets = this.ctx.getWebSockets();
		let count = 0;
		const walk = (from: number): number | Promise<number> => {
			for (let i = from; i < sockets.length; i++) {
				if (i > from && i % SWEEP_SLICE === 0) return nextTurn().then(() => walk(i));
				const ws = sockets[i] as WebSocket;
				if (ws.readyState !== WebSocket.OPEN) continue;
				if (now - this.lastSeen(ws) <= timeoutMs) continue;
				closeSocket(ws, CLOSE_HEARTBEAT_TIMEOUT);
				closed(ws);
				count++;
			}
			if (count > 0) log({ event: "heartbeat_timeout", socket: this.socket, count });
			return count;
		};
		return walk(0);
	}
}
