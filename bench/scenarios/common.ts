// What every scenario returns per measuring window, and shared setup steps.
import { closeAll, open, openLobby, pool, type Sock } from "../lib/client.ts";
import type { Summary } from "../lib/histogram.ts";
import type { BenchServer } from "../lib/servers.ts";
import type { WindowCost } from "../lib/window.ts";

export interface Measured extends WindowCost {
	latency: Summary;
	errors: number;
	errorKinds: Record<string, number>;
	/** Scenario-specific figures (achieved rates, ack latency …). */
	extra?: Record<string, unknown>;
}

export type Log = (message: string) => void;

/** Lobby join for someone who matches anyone and anyone matches (pure FIFO on every server). */
export const JOIN_ANY = JSON.stringify({ type: "join_queue", payload: { gender: "male", preference: "any" } });

/** A matched pair of chat sockets, ready to relay. */
export interface ChatPair {
	chatId: string;
	a: Sock;
	b: Sock;
}

/**
 * Opens `pairs` chats. Ours: lobby sockets, `init`, `join_queue`, `match_found`,
 * then both chat sockets through `chat_url` up to `chat_joined`. Baselines:
 * both sockets straight to `/relay/<room>` (the relay alone is measured).
 */
export async function openChats(server: BenchServer, pairs: number, tag: string, log: Log): Promise<ChatPair[]> {
	const out: ChatPair[] = [];
	if (server.kind !== "ours") {
		const rooms = Array.from({ length: pairs }, (_, i) => `${tag}${i}`);
		const { results, errors } = await pool(rooms, 64, async (room) => {
			const [a, b] = await Promise.all([open(`${server.wsUrl}/relay/${room}`), open(`${server.wsUrl}/relay/${room}`)]);
			await Promise.all([a.waitFor("chat_joined", 10_000), b.waitFor("chat_joined", 10_000)]);
			return { chatId: room, a, b };
		});
		if (errors.length > 0) throw new Error(`${errors.length} relay rooms failed to open: ${errors[0]}`);
		for (const r of results) if (r) out.push(r);
		return out;
	}
	// Ours: through the lobby, in slices so the upgrade queue stays short.
	const url = `${server.wsUrl}${server.lobbyPath}`;
	const slice = 200;
	for (let done = 0; done < pairs; done += slice) {
		const n = Math.min(slice, pairs - done);
		const { results, errors } = await pool(
			Array.from({ length: 2 * n }, (_, i) => i),
			64,
			() => openLobby(url),
		);
		if (errors.length > 0) throw new Error(`${errors.length} lobby sockets failed: ${errors[0]}`);
		const lobbies = results as Sock[];
		for (const s of lobbies) s.send(JOIN_ANY);
		const found = await Promise.all(lobbies.map((s) => s.waitFor("match_found", 30_000)));
		const byChat = new Map<string, string[]>();
		for (const f of found) {
			const list = byChat.get(f.frame.payload.chat_id) ?? [];
			list.push(f.frame.payload.chat_url);
			byChat.set(f.frame.payload.chat_id, list);
		}
		const chats = [...byChat.entries()];
		const { results: opened, errors: chatErrors } = await pool(chats, 32, async ([chatId, urls]) => {
			if (urls.length !== 2) throw new Error(`chat ${chatId} has ${urls.length} match_found`);
			const [a, b] = await Promise.all(urls.map((u) => open(u)));
			await Promise.all([(a as Sock).waitFor("chat_joined", 10_000), (b as Sock).waitFor("chat_joined", 10_000)]);
			return { chatId, a: a as Sock, b: b as Sock };
		});
		if (chatErrors.length > 0) throw new Error(`${chatErrors.length} chats failed to open: ${chatErrors[0]}`);
		for (const r of opened) if (r) out.push(r);
		log(`  ${server.kind}: ${out.length}/${pairs} chats open`);
	}
	return out;
}

/**
 * Ends chats: ours with `leave_chat` (the chat ends now, not after the grace
 * period), then waits (bounded) until the server's close frame reached every
 * chat socket and drops them (`ws` reports the close itself only once the TCP
 * connection is gone, about 10 s later through wrangler's proxy); the
 * baselines' sockets are closed by the client.
 */
export async function closeChats(server: BenchServer, chats: ChatPair[]): Promise<void> {
	const socks = chats.flatMap((c) => [c.a, c.b]);
	if (server.kind !== "ours") return closeAll(socks);
	for (const c of chats) {
		c.a.onFrame = null;
		c.b.onFrame = null;
		c.a.send({ type: "leave_chat", payload: {} });
	}
	const deadline = Date.now() + 15_000;
	while (Date.now() < deadline && socks.some((s) => s.isOpen)) await new Promise((r) => setTimeout(r, 100));
	await new Promise((r) => setTimeout(r, 200));
	for (const s of socks) s.terminate();
}
