// The frames of one Durable Object's sockets, as both objects take them: each
// object owns one Frames. It keeps every handler's failure inside the object
// (`serially`), and runs the common start of every frame (`admit`).
import type { LimitsBySocket } from "../domain/limits/socket-limits";
import { type Parsed, PONG_FRAME } from "../protocol/codec";
import type { Seen, SocketHub } from "./socket-hub";
import { refuseRateLimited, sendError, sendFrame, sendInternalError, touchSeen } from "./sockets";

type Sync = void | Promise<void>;

export interface FramesOptions<E extends { type: string }> {
	/** The rate limits of each socket. */
	limits: LimitsBySocket;
	/** The event type that costs more of the rate limits. */
	costly: E["type"];
	/** Where an unexpected failure is logged from (`internal_error`). */
	where: string;
}

/** A frame admitted: its event (never `ping`, answered already) and its socket's attachment. */
export interface Admitted<E extends { type: string }, A> {
	event: Exclude<E, { type: "ping" }>;
	att: A;
}

export class Frames<E extends { type: string }, A extends Seen> {
	/** Sockets whose last frame is still running (it awaited); their next frames wait their turn. */
	private readonly busy = new WeakMap<WebSocket, Promise<void>>();

	/** `hub`: the object's sockets (their attachments, their name in the logs). */
	constructor(
		private readonly hub: SocketHub<A>,
		private readonly options: FramesOptions<E>,
	) {}

	/**
	 * Runs an event handler of `ws`: in order behind that socket's previous
	 * frame if it still runs, and with any failure contained: logged, and a
	 * retryable `internal` error for the client. Never throws; returns a
	 * promise only when the handler did not finish at once.
	 */
	serially(ws: WebSocket, task: () => Sync): Sync {
		const pending = this.busy.get(ws);
		let result: Sync;
		try {
			result = pending ? pending.then(task) : task();
		} catch (err) {
			sendInternalError(ws, this.options.where, err);
			return;
		}
		if (!(result instanceof Promise)) return;
		const guarded = result.catch((err: unknown) => sendInternalError(ws, this.options.where, err));
		this.busy.set(ws, guarded);
		return guarded.finally(() => {
			if (this.busy.get(ws) === guarded) this.busy.delete(ws);
		});
	}

	/**
	 * The common start of every frame, once it is parsed: hold it to the
	 * socket's rate limits and answer what is refused (`onRefused` hears every
	 * refusal and whether it closed the socket, 1008), answer a frame that did
	 * not parse, note that the socket was heard from, and answer `ping`.
	 * Returns the event to handle, or null when the frame was answered already.
	 */
	admit(ws: WebSocket, parsed: Parsed<E>, now: number, onRefused: (closed: boolean) => void): Admitted<E, A> | null {
		const { limits, costly } = this.options;
		const verdict = limits.for(ws, now).check(now, parsed.ok && parsed.event.type === costly);
		if (!verdict.ok) {
			onRefused(refuseRateLimited(ws, this.hub.socket, verdict, parsed.ok ? parsed.event.type : parsed.requestType));
			return null;
		}
		if (!parsed.ok) {
			sendError(ws, parsed);
			return null;
		}
		const att = this.hub.attachment(ws);
		touchSeen(ws, att, now);
		const event = parsed.event;
		if (event.type === "ping") {
			sendFrame(ws, PONG_FRAME);
			return null;
		}
		return { event: event as Exclude<E, { type: "ping" }>, att };
	}
}
