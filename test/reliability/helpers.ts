// Shared by the reliability tests: FlamingoClients as the browser app runs
// them (the soak's bundle), each behind its own FaultProxy, and bounded waits
// on their snapshots.

import { type FlamingoClientClass, MemoryStorage } from "../../soak/client";
import { loadFlamingoClient } from "../../soak/load-client";
import { FaultProxy } from "../../soak/proxy";
import type { FlamingoClient, Preferences, Snapshot } from "../../src/client/flamingo-client";
import { show, untilSnapshot } from "../e2e/snapshots";

let bundled: Promise<FlamingoClientClass> | null = null;

/** FlamingoClient bundled as for the browser (see soak/load-client.ts). */
export function browserClient(): Promise<FlamingoClientClass> {
	bundled ??= loadFlamingoClient();
	return bundled;
}

export interface Tab {
	client: FlamingoClient;
	local: MemoryStorage;
	session: MemoryStorage;
	proxy: FaultProxy | null;
	/** Every WebSocket the client opened, newest last. */
	sockets: WebSocket[];
}

export interface TabOptions {
	/** The dev server's port. */
	port: number;
	/** Route through a FaultProxy (default: straight to the server). */
	proxy?: boolean;
	/** Reuse another tab's storages and proxy: a reload of that tab. */
	from?: Tab;
	/** Defaults to the browser bundle. */
	Client?: FlamingoClientClass;
	pingIntervalMs?: number;
	pongTimeoutMs?: number;
	minReconnectDelayMs?: number;
	maxReconnectDelayMs?: number;
	/** FlamingoClient's `singleSocket`: everything over `/ws/single`. */
	singleSocket?: boolean;
}

const opened: { tab: Tab; ownsProxy: boolean }[] = [];

/** A FlamingoClient with in-memory storages, optionally through its own FaultProxy. */
export async function openTab(options: TabOptions): Promise<Tab> {
	const Client = options.Client ?? (await browserClient());
	const ownsProxy = options.from === undefined && options.proxy === true;
	const proxy = options.from ? options.from.proxy : ownsProxy ? await FaultProxy.listen(options.port) : null;
	const port = proxy?.port ?? options.port;
	const sockets: WebSocket[] = [];
	const Recording = class extends WebSocket {
		constructor(url: string | URL, protocols?: string | string[]) {
			super(url, protocols);
			sockets.push(this);
		}
	};
	const local = options.from?.local ?? new MemoryStorage();
	const session = options.from?.session ?? new MemoryStorage();
	const client = new Client({
		baseUrl: `http://127.0.0.1:${port}`,
		storage: local,
		sessionStorage: session,
		WebSocket: Recording,
		pingIntervalMs: options.pingIntervalMs ?? 25_000,
		...(options.pongTimeoutMs === undefined ? {} : { pongTimeoutMs: options.pongTimeoutMs }),
		minReconnectDelayMs: options.minReconnectDelayMs ?? 500,
		maxReconnectDelayMs: options.maxReconnectDelayMs ?? 10_000,
		singleSocket: options.singleSocket ?? false,
	});
	const tab: Tab = { client, local, session, proxy, sockets };
	opened.push({ tab, ownsProxy });
	return tab;
}

/** Closes every tab and proxy opened so far (afterEach). */
export async function closeTabs(): Promise<void> {
	const all = opened.splice(0);
	for (const { tab } of all) tab.client.close();
	await Promise.all(all.filter((o) => o.ownsProxy).map((o) => o.tab.proxy?.close()));
}

/** Waits for a snapshot satisfying `ok`, or fails after `timeoutMs` with the last one seen. */
export const until = (client: FlamingoClient, what: string, ok: (s: Snapshot) => boolean, timeoutMs = 10_000) =>
	untilSnapshot(client, what, ok, timeoutMs);
export { show };

export const chatting = (s: Snapshot) => s.phase === "chatting" && s.connected && s.partnerOnline;
export const waiting = (s: Snapshot) => s.phase === "waiting" && s.connected && s.waiting !== null;
export const received = (s: Snapshot) => (s.transcript?.messages ?? []).filter((m) => !m.mine).map((m) => m.content);
export const allAcked = (s: Snapshot) => (s.transcript?.messages ?? []).every((m) => m.state !== "sending");

/** Two tabs matched with each other: A waits first, then B joins. */
export async function pair(a: Tab, b: Tab, prefs: Preferences = { gender: "female", preference: "any" }) {
	a.client.start(prefs);
	await until(a.client, "A waiting", waiting);
	b.client.start({ gender: "male", preference: "any" });
	await until(a.client, "A chatting", chatting, 15_000);
	await until(b.client, "B chatting", chatting, 15_000);
	const chatId = a.client.snapshot.transcript?.chatId;
	if (!chatId || chatId !== b.client.snapshot.transcript?.chatId) {
		throw new Error(`A and B are not in one chat: ${show(a.client)} / ${show(b.client)}`);
	}
	return chatId;
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export { type Stats, statsOf } from "../e2e/helpers";
