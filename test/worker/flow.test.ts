import { describe, expect, it } from "vitest";
import { chattingPair, initUser, join, lobbyName, openChat } from "./helpers";

describe("the seed's flow", () => {
	it("init, queue, match, hand-over, chat, leave", async () => {
		const name = lobbyName();
		const a = await initUser(name);
		const b = await initUser(name);
		expect(a.userId).toMatch(/^[0-9a-f]{16}$/);
		join(a, "male", "female");
		expect(await a.lobby.expect("queue_joined")).toEqual({ waiting: 1 });
		join(b, "female", "male");
		expect(await b.lobby.expect("queue_joined")).toEqual({ waiting: 2 });
		const ma = await a.lobby.expect("match_found");
		const mb = await b.lobby.expect("match_found");
		expect(ma.chat_id).toBe(mb.chat_id);
		expect(ma.chat_id).toMatch(/^[0-9a-f]{32}$/);
		expect(ma.ticket).not.toBe(mb.ticket);
		expect(ma.partner).toEqual({ gender: "female" });
		expect(mb.partner).toEqual({ gender: "male" });
		expect(await a.lobby.closed()).toEqual({ code: 1000, reason: "matched" });
		const chatA = await openChat(ma.chat_url);
		expect(await chatA.expect("chat_joined")).toEqual({ chat_id: ma.chat_id, partner_online: false });
		const chatB = await openChat(mb.chat_url);
		expect(await chatB.expect("chat_joined")).toEqual({ chat_id: ma.chat_id, partner_online: true });
		expect(await chatA.expect("partner_status")).toEqual({ online: true });
		chatA.send({ type: "send_message", payload: { content: "hello 🦩", client_msg_id: "c1" } });
		const sent = await chatA.expect("message_sent");
		expect(sent).toMatchObject({ chat_id: ma.chat_id, message_id: 1, client_msg_id: "c1" });
		const got = await chatB.expect("message_received");
		expect(got).toMatchObject({ chat_id: ma.chat_id, message_id: 1, content: "hello 🦩" });
		chatB.send({ type: "leave_chat" });
		expect(await chatB.expect("chat_ended")).toEqual({ chat_id: ma.chat_id, reason: "you_left" });
		expect(await chatA.expect("chat_ended")).toEqual({ chat_id: ma.chat_id, reason: "partner_left" });
		expect((await chatA.closed()).code).toBe(1000);
	});

	it("chattingPair helper works", async () => {
		const p = await chattingPair();
		expect(p.chatId).toMatch(/^[0-9a-f]{32}$/);
	});
});
