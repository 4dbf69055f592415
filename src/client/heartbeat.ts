// The keep-alive of the client's sockets. A ping keeps the server from
// dropping a quiet socket (it drops sockets silent for 40 s); a socket that
// hears nothing within the pong timeout after a ping is taken for dead and
// reconnected, because a network that went dark closes nothing and the page
// would otherwise show "connected" while its messages stay unsent.
import ReconnectingWebSocket from "partysocket/ws";
import { CLOSE_NO_PONG } from "../protocol/close-codes";
import { PING_FRAME } from "../protocol/codec";

export interface HeartbeatOptions {
	intervalMs: number;
	pongTimeoutMs: number;
	/** The sockets in use now: the lobby, the chat, or neither. */
	sockets: () => readonly (ReconnectingWebSocket | null)[];
}

export class Heartbeat {
	private timer: ReturnType<typeof setInterval> | null = null;
	/** Per socket: when the ping still unanswered was sent (nothing heard since). */
	private readonly pingSentAt = new WeakMap<ReconnectingWebSocket, number>();
	private readonly pongTimers = new Set<ReturnType<typeof setTimeout>>();

	constructor(private readonly options: HeartbeatOptions) {}

	/** Any frame, and a new connection, answer the outstanding ping. */
	watch(socket: ReconnectingWebSocket): void {
		const heard = () => this.pingSentAt.delete(socket);
		socket.addEventListener("open", heard);
		socket.addEventListener("message", heard);
	}

	start(): void {
		if (this.timer !== null) return;
		this.timer = setInterval(() => {
			for (const socket of this.options.sockets()) {
				if (socket?.readyState === ReconnectingWebSocket.OPEN && !this.pingSentAt.has(socket)) this.ping(socket);
			}
		}, this.options.intervalMs);
	}

	stop(): void {
		if (this.timer !== null) clearInterval(this.timer);
		this.timer = null;
		for (const t of this.pongTimers) clearTimeout(t);
		this.pongTimers.clear();
	}

	private ping(socket: ReconnectingWebSocket): void {
		const sentAt = Date.now();
		this.pingSentAt.set(socket, sentAt);
		socket.send(PING_FRAME);
		const timer = setTimeout(() => {
			this.pongTimers.delete(timer);
			// A socket since replaced, or one that answered, is left alone.
			if (!this.options.sockets().includes(socket) || this.pingSentAt.get(socket) !== sentAt) return;
			this.pingSentAt.delete(socket);
			// partysocket closes it on our side (the close handlers see 4000) and connects again.
			socket.reconnect(CLOSE_NO_PONG.code, CLOSE_NO_PONG.reason);
		}, this.options.pongTimeoutMs);
		this.pongTimers.add(timer);
	}
}
