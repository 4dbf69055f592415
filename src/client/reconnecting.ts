// A partysocket that reconnects with backoff, plus jitter: partysocket's
// backoff grows without it, and a random extra delay per reconnect keeps a
// server restart from being hit by every client at once.
//
// The first attempt connects at once. partysocket waits for a timer before
// every attempt, the first one too (with a delay of 0), so a socket opened
// while the page handles an event (the chat socket on `match_found`) started
// its handshake only after that task and whatever the browser did next, such
// as drawing the new screen: 20 to 35 ms on the development machine. Here the
// first socket is created at once, and partysocket, with no timer to wait for
// a delay of 0, takes it over before the task ends (in microtasks), so in a
// browser before any of the socket's events (tasks) can be dispatched.
import ReconnectingWebSocket from "partysocket/ws";

export interface ReconnectOptions {
	WebSocket: typeof WebSocket;
	/** Backoff bounds (before jitter). */
	minDelayMs: number;
	maxDelayMs: number;
}

/** partysocket's own wait (it calls `_getNextDelay`), skipped when its delay is 0: the first attempt, or after `reconnect()`. */
class Socket extends ReconnectingWebSocket {}
const own = Socket.prototype as unknown as { _wait?: () => Promise<void>; _getNextDelay(): number };
const timed = own._wait;
/** False if a partysocket version has no such wait any more (its first attempt then waits as it always did). */
const atOnce = timed !== undefined;
if (timed) {
	own._wait = function (this: typeof own) {
		return this._getNextDelay() === 0 ? Promise.resolve() : timed.call(this);
	};
}

export function reconnecting(
	url: string | (() => string),
	shouldReconnect: (e: { code: number }) => boolean,
	options: ReconnectOptions,
): ReconnectingWebSocket {
	const Native = options.WebSocket;
	const address = () => (typeof url === "function" ? url() : url);
	let first: WebSocket | null = null;
	// The address it was made for: a socket's own `url` may differ (a browser
	// normalises it; a WebSocket passed in the options may route it elsewhere).
	let firstFor = "";
	try {
		if (atOnce) {
			firstFor = address();
			first = new Native(firstFor);
		}
	} catch {
		// A bad address: partysocket's attempt meets the same error, and handles it as it always did.
	}
	// What partysocket constructs: the first socket if it is for this address and
	// nothing has happened to it yet, else a new one. (A browser dispatches a
	// socket's events as tasks, but Node's WebSocket may fail one in a microtask,
	// before partysocket listens: a refused connection to a local port.)
	function take(target: string, protocols?: string | string[]): WebSocket {
		const ws = first;
		first = null;
		if (ws && firstFor === target && ws.readyState === 0) return ws;
		ws?.close();
		return new Native(target, protocols);
	}
	// Closed before partysocket took it (the caller closed it at once): nobody else will close it.
	setTimeout(() => {
		first?.close();
		first = null;
	});
	let attempts = 0;
	const provider = async () => {
		if (attempts++ > 0) await new Promise((r) => setTimeout(r, Math.random() * options.minDelayMs));
		return address();
	};
	return new Socket(provider, [], {
		WebSocket: take as unknown as typeof WebSocket,
		minReconnectionDelay: options.minDelayMs,
		maxReconnectionDelay: options.maxDelayMs,
		reconnectionDelayGrowFactor: 1.5,
		connectionTimeout: 8_000,
		// Nothing is queued while closed: the outbox resends from the transcript.
		maxEnqueuedMessages: 0,
		shouldReconnectOnClose: shouldReconnect,
	});
}
