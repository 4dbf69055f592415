// A partysocket that reconnects with backoff, plus jitter: partysocket's
// backoff grows without it, and a random extra delay per reconnect keeps a
// server restart from being hit by every client at once.
import ReconnectingWebSocket from "partysocket/ws";

export interface ReconnectOptions {
	WebSocket: typeof WebSocket;
	/** Backoff bounds (before jitter). */
	minDelayMs: number;
	maxDelayMs: number;
}

export function reconnecting(
	url: string | (() => string),
	shouldReconnect: (e: { code: number }) => boolean,
	options: ReconnectOptions,
): ReconnectingWebSocket {
	let attempts = 0;
	const provider = async () => {
		if (attempts++ > 0) await new Promise((r) => setTimeout(r, Math.random() * options.minDelayMs));
		return typeof url === "function" ? url() : url;
	};
	return new ReconnectingWebSocket(provider, [], {
		WebSocket: options.WebSocket,
		minReconnectionDelay: options.minDelayMs,
		maxReconnectionDelay: options.maxDelayMs,
		reconnectionDelayGrowFactor: 1.5,
		connectionTimeout: 8_000,
		// Nothing is queued while closed: the outbox resends from the transcript.
		maxEnqueuedMessages: 0,
		shouldReconnectOnClose: shouldReconnect,
	});
}
