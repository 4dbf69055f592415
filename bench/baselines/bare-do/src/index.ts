// The platform's floor: a Worker with two minimal Durable Objects, frames shaped
// like Flamingo's (JSON {type, payload}) so the JSON work is comparable.
// - `/relay/:room`: a Relay object per room that accepts hibernatable sockets,
//   says `chat_joined` on connect and turns each `send_message` into
//   `message_received` for the other socket. No storage, no ack, no checks.
// - `/lobby`: one Lobby object that answers `init` with `ready` and pairs
//   `join_queue`s first in, first out: both get `match_found` (with a chat_url
//   to a Relay room) and their lobby socket is closed, as Flamingo's is.
import { DurableObject } from "cloudflare:workers";

interface Env {
	RELAY: DurableObjectNamespace<Relay>;
	LOBBY: DurableObjectNamespace<Lobby>;
}

const frame = (type: string, payload: object) => JSON.stringify({ type, payload });

function hex(bytes: number): string {
	const b = crypto.getRandomValues(new Uint8Array(bytes));
	return Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
}

function upgraded(client: WebSocket): Response {
	return new Response(null, { status: 101, webSocket: client });
}

export default {
	fetch(request, env) {
		const url = new URL(request.url);
		if (url.pathname === "/api/health") return Response.json({ ok: true });
		if (request.headers.get("Upgrade")?.toLowerCase() !== "websocket") return new Response("upgrade", { status: 426 });
		if (url.pathname === "/lobby") return env.LOBBY.get(env.LOBBY.idFromName("global")).fetch(request);
		const room = /^\/relay\/([0-9a-z]{1,64})$/.exec(url.pathname)?.[1];
		if (room) return env.RELAY.get(env.RELAY.idFromName(room)).fetch(request);
		return new Response("not found", { status: 404 });
	},
} satisfies ExportedHandler<Env>;

export class Relay extends DurableObject<Env> {
	private messageId = 0;

	override fetch(request: Request): Response {
		const room = new URL(request.url).pathname.split("/").at(-1) ?? "";
		const [client, server] = Object.values(new WebSocketPair()) as [WebSocket, WebSocket];
		const others = this.ctx.getWebSockets().length;
		this.ctx.acceptWebSocket(server);
		server.serializeAttachment({ room });
		server.send(frame("chat_joined", { chat_id: room, partner_online: others > 0 }));
		return upgraded(client);
	}

	override webSocketMessage(ws: WebSocket, message: string | ArrayBuffer): void {
		if (typeof message !== "string") return;
		const event = JSON.parse(message) as { type?: string; payload?: { content?: string } };
		if (event.type !== "send_message") return;
		const { room } = ws.deserializeAttachment() as { room: string };
		const out = frame("message_received", {
			chat_id: room,
			message_id: ++this.messageId,
			content: event.payload?.content ?? "",
			sent_at: Date.now(),
		});
		for (const other of this.ctx.getWebSockets()) if (other !== ws) other.send(out);
	}

	override webSocketClose(ws: WebSocket, code: number, reason: string): void {
		ws.close(code === 1005 ? 1000 : code, reason);
	}
}

interface LobbyAttachment {
	origin: string;
	user?: string;
	gender?: string;
	/** Arrival order while waiting, so the queue survives hibernation. */
	seq?: number;
}

export class Lobby extends DurableObject<Env> {
	/** The FIFO: insertion order of a Map, rebuilt from attachments on wake. */
	private readonly queue = new Map<WebSocket, string>();
	private seq = 0;

	constructor(ctx: DurableObjectState, env: Env) {
		super(ctx, env);
		const waiting: [WebSocket, LobbyAttachment][] = [];
		for (const ws of ctx.getWebSockets()) {
			const att = ws.deserializeAttachment() as LobbyAttachment;
			if (att.seq !== undefined) waiting.push([ws, att]);
		}
		waiting.sort((a, b) => (a[1].seq ?? 0) - (b[1].seq ?? 0));
		for (const [ws, att] of waiting) this.queue.set(ws, att.gender ?? "other");
		this.seq = waiting.at(-1)?.[1].seq ?? 0;
	}

	override fetch(request: Request): Response {
		const url = new URL(request.url);
		const [client, server] = Object.values(new WebSocketPair()) as [WebSocket, WebSocket];
		this.ctx.acceptWebSocket(server);
		server.serializeAttachment({ origin: `ws://${url.host}` } satisfies LobbyAttachment);
		return upgraded(client);
	}

	override webSocketMessage(ws: WebSocket, message: string | ArrayBuffer): void {
		if (typeof message !== "string") return;
		const event = JSON.parse(message) as { type?: string; payload?: { gender?: string } };
		const att = ws.deserializeAttachment() as LobbyAttachment;
		if (event.type === "init") {
			att.user = hex(8);
			ws.serializeAttachment(att);
			const online = this.ctx.getWebSockets().length;
			const presence = { online, waiting: this.queue.size, chatting: 0 };
			ws.send(frame("ready", { user_id: att.user, token: "", resumed: false, presence }));
		} else if (event.type === "join_queue") {
			const gender = event.payload?.gender ?? "other";
			ws.send(frame("queue_joined", { waiting: this.queue.size + 1 }));
			const partner = this.queue.keys().next().value;
			if (partner === undefined) {
				att.gender = gender;
				att.seq = ++this.seq;
				ws.serializeAttachment(att);
				this.queue.set(ws, gender);
				return;
			}
			const partnerGender = this.queue.get(partner) ?? "other";
			this.queue.delete(partner);
			const chatId = hex(16);
			for (const [me, other] of [
				[ws, partnerGender],
				[partner, gender],
			] as const) {
				const origin = (me.deserializeAttachment() as LobbyAttachment).origin;
				const chatUrl = `${origin}/relay/${chatId}`;
				me.send(
					frame("match_found", {
						chat_id: chatId,
						ticket: "",
						chat_url: chatUrl,
						partner: { gender: other },
						shared_interests: [],
					}),
				);
				me.close(1000, "matched");
			}
		} else if (event.type === "ping") {
			ws.send(frame("pong", {}));
		}
	}

	override webSocketClose(ws: WebSocket, code: number, reason: string): void {
		this.queue.delete(ws);
		ws.close(code === 1005 ? 1000 : code, reason);
	}

	override webSocketError(ws: WebSocket): void {
		this.queue.delete(ws);
	}
}
