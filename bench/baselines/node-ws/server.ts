// What someone would write instead: one Node process, `ws`, FIFO pairing and
// relay, the same JSON frames as Flamingo's protocol. No identity, no limits,
// no storage. `/ws` is the lobby, `/relay/:room` a chat of two sockets.
import { randomBytes } from "node:crypto";
import { createServer } from "node:http";
import { type WebSocket, WebSocketServer } from "ws";

const port = Number(process.argv[process.argv.indexOf("--port") + 1]);
const frame = (type: string, payload: object) => JSON.stringify({ type, payload });
const waiting = new Map<WebSocket, string>(); // socket → gender; insertion order = FIFO
const rooms = new Map<string, Set<WebSocket>>();
let online = 0;
let messageId = 0;

const http = createServer((req, res) => {
	res.writeHead(req.url === "/api/health" ? 200 : 426, { "Content-Type": "application/json" });
	res.end(req.url === "/api/health" ? '{"ok":true}' : "{}");
});
const wss = new WebSocketServer({ noServer: true });
http.on("upgrade", (req, socket, head) => wss.handleUpgrade(req, socket, head, (ws) => accept(ws, req.url ?? "/")));

function accept(ws: WebSocket, url: string): void {
	const room = /^\/relay\/([0-9a-z]{1,64})$/.exec(url)?.[1];
	if (room) {
		const peers = rooms.get(room) ?? new Set<WebSocket>();
		rooms.set(room, peers.add(ws));
		ws.send(frame("chat_joined", { chat_id: room, partner_online: peers.size > 1 }));
		ws.on("message", (data) => {
			const event = JSON.parse(data.toString());
			if (event.type !== "send_message") return;
			const out = frame("message_received", {
				chat_id: room,
				message_id: ++messageId,
				content: event.payload.content,
				sent_at: Date.now(),
			});
			for (const peer of peers) if (peer !== ws) peer.send(out);
		});
		ws.on("close", () => {
			peers.delete(ws);
			if (peers.size === 0) rooms.delete(room);
		});
		return;
	}
	online++;
	ws.on("message", (data) => {
		const event = JSON.parse(data.toString());
		if (event.type === "init") {
			const user = randomBytes(8).toString("hex");
			ws.send(
				frame("ready", {
					user_id: user,
					token: "",
					resumed: false,
					presence: { online, waiting: waiting.size, chatting: 0 },
				}),
			);
		} else if (event.type === "join_queue") {
			const gender = String(event.payload.gender);
			ws.send(frame("queue_joined", { waiting: waiting.size + 1 }));
			const next = waiting.entries().next();
			if (next.done) return void waiting.set(ws, gender);
			const [partner, partnerGender] = next.value;
			waiting.delete(partner);
			const chatId = randomBytes(16).toString("hex");
			const url = `ws://127.0.0.1:${port}/relay/${chatId}`;
			for (const [me, other] of [
				[ws, partnerGender],
				[partner, gender],
			] as const) {
				me.send(
					frame("match_found", {
						chat_id: chatId,
						ticket: "",
						chat_url: url,
						partner: { gender: other },
						shared_interests: [],
					}),
				);
				me.close(1000, "matched");
			}
		} else if (event.type === "ping") ws.send(frame("pong", {}));
	});
	ws.on("close", () => {
		online--;
		waiting.delete(ws);
	});
}

http.listen(port, "127.0.0.1");
