// A small test client over the `ws` package. Every frame the server sends must
// be what PROTOCOL.md promises (a UTF-8 text frame holding one JSON object with
// a string `type` and an object `payload`); anything else fails the next wait.
// Every wait has a timeout whose error lists the frames not read yet.
import type { IncomingHttpHeaders } from "node:http";
import WebSocket from "ws";
import { parseServer } from "../../src/protocol/codec";
import type { ServerEvent, ServerEventType, ServerPayload } from "./protocol";

export const DEFAULT_TIMEOUT_MS = 5_000;
/** The exact keep-alive frame the runtime answers without waking an object. */
export const PING_FRAME = '{"type":"ping"}';

export interface CloseInfo {
	code: number;
	reason: string;
}

export interface ConnectOptions {
	/** Sent as the `Origin` header (a browser would). */
	origin?: string;
	headers?: Record<string, string>;
	/** How long the upgrade may take. */
	timeoutMs?: number;
	/** Once open, send the exact ping frame this often (see `keepAlive`). */
	keepAliveMs?: number;
}

type ConcludeListener = (code: number, reason: Buffer) => void;

/** After a close handshake, give the server this long to end the TCP connection. */
const CLOSE_TIMEOUT_MS = 1_000;

/** `ws` client options plus `closeTimeout`, which its type definitions lack. */
function clientOptions(headers: Record<string, string>, handshakeTimeout: number): WebSocket.ClientOptions {
	const options: WebSocket.ClientOptions & { closeTimeout: number } = {
		headers,
		handshakeTimeout,
		closeTimeout: CLOSE_TIMEOUT_MS,
	};
	return options;
}

type EventOf<T extends ServerEventType> = Extract<ServerEvent, { type: T }>;

function isType<T extends ServerEventType>(event: ServerEvent, type: T): event is EventOf<T> {
	return event.type === type;
}

/**
 * Checks a server frame: a text JSON object that always carries a `payload`,
 * valid against the protocol's server schemas. Returns the event or a description of the violation.
 */
function decode(data: WebSocket.RawData, isBinary: boolean): ServerEvent | string {
	if (isBinary) return "server sent a binary frame";
	const text = Buffer.isBuffer(data)
		? data.toString("utf8")
		: Array.isArray(data)
			? Buffer.concat(data).toString("utf8")
			: Buffer.from(data).toString("utf8");
	const parsed = parseServer(text);
	if (!parsed.ok) return `server sent an invalid frame (${parsed.code}: ${parsed.message}): ${text.slice(0, 200)}`;
	// The schemas accept an omitted payload from clients; the server must always send one.
	if (!Object.hasOwn(JSON.parse(text), "payload")) {
		return `server sent ${parsed.event.type} without a payload: ${text.slice(0, 200)}`;
	}
	return parsed.event;
}

/** Every client not closed yet, so a test's leftovers can be closed after it. */
const live = new Set<TestClient>();

/** Closes every client still open and waits (bounded) for the close handshakes. */
export async function closeAllClients(timeoutMs = 2_000): Promise<void> {
	const clients = [...live];
	live.clear();
	await Promise.all(clients.map((c) => c.closeAndWait(1000, "test over", timeoutMs).catch(() => c.terminate())));
}

export class TestClient {
	private readonly inbox: ServerEvent[] = [];
	private readonly waiters = new Set<() => void>();
	private readonly violations: string[] = [];
	private closeInfo: CloseInfo | null = null;
	private pinger: NodeJS.Timeout | undefined;
	/** Pongs swallowed while `keepAlive` runs. */
	private pongsWhilePinging = 0;

	constructor(
		readonly ws: WebSocket,
		readonly url: string,
	) {
		live.add(this);
		ws.on("message", (data, isBinary) => {
			const event = decode(data, isBinary);
			if (typeof event === "string") this.violations.push(event);
			else if (this.pinger !== undefined && event.type === "pong") this.pongsWhilePinging++;
			else this.inbox.push(event);
			this.wake();
		});
		ws.on("close", (code, reason) => {
			live.delete(this);
			this.stopKeepAlive();
			this.closed_({ code, reason: reason.toString("utf8") });
		});
		// The server's close frame is what the protocol specifies; when it arrives
		// the close is known, even if the TCP teardown behind it lags (wrangler dev
		// sometimes keeps the connection until the client's close timeout). `ws`
		// has no public event for it, so listen on its frame parser when present.
		ws.once("open", () => {
			const receiver = (ws as unknown as { _receiver?: { on?: (event: string, fn: ConcludeListener) => void } })
				._receiver;
			receiver?.on?.("conclude", (code, reason) => {
				this.stopKeepAlive();
				this.closed_({ code, reason: Buffer.from(reason).toString("utf8") });
			});
		});
		// Errors after the upgrade end in a close event; nothing else to do here.
		ws.on("error", () => {});
	}

	/** Records the first close seen (close frame or connection end). */
	private closed_(info: CloseInfo): void {
		if (this.closeInfo === null) this.closeInfo = info;
		this.wake();
	}

	private wake(): void {
		for (const w of [...this.waiters]) w();
	}

	/** Frames received and not read yet. */
	get unread(): readonly ServerEvent[] {
		return this.inbox;
	}

	get isClosed(): boolean {
		return this.closeInfo !== null;
	}

	get isOpen(): boolean {
		return this.ws.readyState === WebSocket.OPEN;
	}

	/** Pongs that arrived while `keepAlive` was pinging. */
	get pongs(): number {
		return this.pongsWhilePinging;
	}

	private describe(): string {
		return `unread frames: ${JSON.stringify(this.inbox)}; closed: ${JSON.stringify(this.closeInfo)}`;
	}

	private checkViolations(): void {
		if (this.violations.length > 0) throw new Error(`${this.violations.join("; ")} (${this.describe()})`);
	}

	private async until<R>(what: string, take: () => R | undefined, timeoutMs: number): Promise<R> {
		const deadline = Date.now() + timeoutMs;
		for (;;) {
			this.checkViolations();
			const value = take();
			if (value !== undefined) return value;
			const left = deadline - Date.now();
			if (left <= 0) {
				throw new Error(`timed out after ${timeoutMs} ms waiting for ${what} on ${this.url}; ${this.describe()}`);
			}
			await new Promise<void>((resolve) => {
				const done = () => {
					clearTimeout(timer);
					this.waiters.delete(done);
					resolve();
				};
				const timer = setTimeout(done, left);
				this.waiters.add(done);
			});
		}
	}

	/** Sends an object as JSON, or a string as is. */
	send(event: object | string): void {
		this.ws.send(typeof event === "string" ? event : JSON.stringify(event));
	}

	/** The next frame, whatever it is. */
	next(timeoutMs = DEFAULT_TIMEOUT_MS): Promise<ServerEvent> {
		return this.until(
			"the next frame",
			() => {
				if (this.inbox.length > 0) return this.inbox.shift();
				if (this.closeInfo) throw new Error(`socket closed while waiting for the next frame; ${this.describe()}`);
				return undefined;
			},
			timeoutMs,
		);
	}

	/** The next frame, which must be of `type`; returns its payload. */
	async expect<T extends ServerEventType>(type: T, timeoutMs = DEFAULT_TIMEOUT_MS): Promise<ServerPayload<T>> {
		const event = await this.until(
			type,
			() => {
				if (this.inbox.length > 0) return this.inbox.shift();
				if (this.closeInfo) throw new Error(`socket closed while waiting for ${type}; ${this.describe()}`);
				return undefined;
			},
			timeoutMs,
		);
		if (!isType(event, type)) {
			throw new Error(`expected ${type}, got ${JSON.stringify(event)}; ${this.describe()}`);
		}
		return event.payload as ServerPayload<T>;
	}

	/** The first frame of `type`, skipping any frames before it. */
	waitFor<T extends ServerEventType>(type: T, timeoutMs = DEFAULT_TIMEOUT_MS): Promise<ServerPayload<T>> {
		return this.until(
			type,
			() => {
				const i = this.inbox.findIndex((e) => e.type === type);
				if (i < 0) {
					if (this.closeInfo) throw new Error(`socket closed while waiting for ${type}; ${this.describe()}`);
					return undefined;
				}
				const event = this.inbox.splice(0, i + 1).at(-1);
				return event && isType(event, type) ? (event.payload as ServerPayload<T>) : undefined;
			},
			timeoutMs,
		);
	}

	/** The next frame must be an `error` with this code. */
	async expectError(code: string, timeoutMs = DEFAULT_TIMEOUT_MS): Promise<ServerPayload<"error">> {
		const payload = await this.expect("error", timeoutMs);
		if (payload.code !== code) {
			throw new Error(`expected error ${code}, got ${JSON.stringify(payload)}; ${this.describe()}`);
		}
		return payload;
	}

	/** Waits for the socket to close; returns the close code and reason. */
	closed(timeoutMs = DEFAULT_TIMEOUT_MS): Promise<CloseInfo> {
		return this.until("the socket to close", () => this.closeInfo ?? undefined, timeoutMs);
	}

	/**
	 * Asserts that no frame arrives and the socket stays open for `windowMs`:
	 * a bounded wait for something that must NOT happen.
	 */
	async expectSilence(windowMs: number): Promise<void> {
		const deadline = Date.now() + windowMs;
		while (Date.now() < deadline) {
			this.checkViolations();
			if (this.inbox.length > 0 || this.closeInfo) {
				throw new Error(`expected nothing for ${windowMs} ms on ${this.url}; ${this.describe()}`);
			}
			await new Promise<void>((resolve) => {
				const done = () => {
					clearTimeout(timer);
					this.waiters.delete(done);
					resolve();
				};
				const timer = setTimeout(done, deadline - Date.now());
				this.waiters.add(done);
			});
		}
		this.checkViolations();
		if (this.inbox.length > 0 || this.closeInfo) {
			throw new Error(`expected nothing for ${windowMs} ms on ${this.url}; ${this.describe()}`);
		}
	}

	/** Sends the exact ping frame every `intervalMs`, swallowing (and counting) the pongs. */
	keepAlive(intervalMs: number): void {
		this.stopKeepAlive();
		const ping = () => {
			if (this.ws.readyState === WebSocket.OPEN) this.ws.send(PING_FRAME);
		};
		this.pinger = setInterval(ping, intervalMs);
		ping();
	}

	stopKeepAlive(): void {
		if (this.pinger !== undefined) clearInterval(this.pinger);
		this.pinger = undefined;
	}

	/** Closes from the client side (no wait). */
	close(code = 1000, reason = "bye"): void {
		this.stopKeepAlive();
		if (this.ws.readyState === WebSocket.CONNECTING || this.ws.readyState === WebSocket.OPEN) {
			this.ws.close(code, reason);
		}
	}

	/** Closes and waits for the close handshake to finish. */
	async closeAndWait(code = 1000, reason = "bye", timeoutMs = DEFAULT_TIMEOUT_MS): Promise<CloseInfo> {
		this.close(code, reason);
		return this.closed(timeoutMs);
	}

	/** Tears the TCP connection down without a close frame (a vanished client). */
	terminate(): void {
		this.stopKeepAlive();
		this.ws.terminate();
	}
}

function headersFor(options: ConnectOptions): Record<string, string> {
	return { ...(options.headers ?? {}), ...(options.origin === undefined ? {} : { Origin: options.origin }) };
}

/** Opens a socket; rejects (with the HTTP status) if the upgrade is refused. */
export function connect(url: string, options: ConnectOptions = {}): Promise<TestClient> {
	const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
	return new Promise((resolve, reject) => {
		const ws = new WebSocket(url, clientOptions(headersFor(options), timeoutMs));
		// Listening from the start: frames sent together with the 101 are not lost.
		const client = new TestClient(ws, url);
		const fail = (err: Error) => {
			ws.removeAllListeners("open");
			reject(err);
		};
		ws.once("open", () => {
			if (options.keepAliveMs !== undefined) client.keepAlive(options.keepAliveMs);
			resolve(client);
		});
		ws.once("unexpected-response", (req, res) => {
			live.delete(client);
			let body = "";
			res.setEncoding("utf8");
			res.on("data", (chunk: string) => {
				body += chunk;
			});
			const done = () => {
				fail(new Error(`upgrade of ${url} refused: HTTP ${res.statusCode} ${body.trim()}`));
				req.destroy();
			};
			res.on("end", done);
			res.on("error", done);
		});
		ws.once("error", (err) => {
			live.delete(client);
			fail(new Error(`upgrade of ${url} failed: ${err.message}`));
		});
	});
}

export interface UpgradeResult {
	/** 101 when the upgrade succeeded, else the refusal's HTTP status. */
	status: number;
	headers: IncomingHttpHeaders;
	body: string;
	/** Set when the upgrade succeeded: the open client (close it when done). */
	client?: TestClient;
}

/**
 * Tries an upgrade and reports how it went: the HTTP status of a refusal
 * (403, 426, 429…) or 101 with the open client.
 */
export function upgrade(url: string, headers: Record<string, string> = {}, timeoutMs = DEFAULT_TIMEOUT_MS) {
	return new Promise<UpgradeResult>((resolve, reject) => {
		const ws = new WebSocket(url, clientOptions(headers, timeoutMs));
		const client = new TestClient(ws, url);
		ws.once("open", () => resolve({ status: 101, headers: {}, body: "", client }));
		ws.once("unexpected-response", (req, res) => {
			live.delete(client);
			let body = "";
			res.setEncoding("utf8");
			res.on("data", (chunk: string) => {
				body += chunk;
			});
			const done = () => {
				resolve({ status: res.statusCode ?? 0, headers: res.headers, body });
				req.destroy();
			};
			res.on("end", done);
			res.on("error", done);
		});
		ws.once("error", (err) => {
			live.delete(client);
			reject(new Error(`upgrade of ${url} failed: ${err.message}`));
		});
	});
}
