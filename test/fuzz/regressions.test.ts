// Server bugs the fuzz properties found (codec.test.ts, "refusals the server
// sends back"), each pinned as a plain test: through the codec and through a
// real lobby socket in workerd.
import { describe, expect, it } from "vitest";
import { buildError, parseLobby, parseServer } from "../../src/protocol/codec";
import { MAX_FRAME_BYTES } from "../../src/protocol/schemas";
import { lobbyName, lobbyStub } from "../worker/helpers";

const utf8 = (s: string) => new TextEncoder().encode(s).length;

/** A frame of exactly 16 KiB whose `type` is unknown: legal, and refused with unknown_type. */
function longUnknownType(): string {
	const frame = JSON.stringify({ type: "x".repeat(MAX_FRAME_BYTES - utf8('{"type":""}')) });
	expect(utf8(frame)).toBe(MAX_FRAME_BYTES);
	return frame;
}

/** A frame of exactly 16 KiB with a wrong `gender`: legal, and refused with invalid_payload. */
function longWrongGender(): string {
	const head = '{"type":"join_queue","payload":{"preference":"any","gender":"';
	const frame = `${head}${"g".repeat(MAX_FRAME_BYTES - utf8(`${head}"}}`))}"}}`;
	expect(utf8(frame)).toBe(MAX_FRAME_BYTES);
	return frame;
}

/** The raw frames a lobby socket receives, without the test helpers' own parsing. */
async function rawLobby(): Promise<{ ws: WebSocket; next: () => Promise<string> }> {
	const res = await lobbyStub(lobbyName()).fetch("http://127.0.0.1:8787/ws", { headers: { Upgrade: "websocket" } });
	const ws = res.webSocket;
	if (!ws) throw new Error(`no upgrade: ${res.status}`);
	ws.accept();
	const inbox: string[] = [];
	const waiters: (() => void)[] = [];
	ws.addEventListener("message", (e) => {
		inbox.push(typeof e.data === "string" ? e.data : "<binary>");
		for (const w of waiters.splice(0)) w();
	});
	const next = async () => {
		const deadline = Date.now() + 5_000;
		while (inbox.length === 0) {
			if (Date.now() > deadline) throw new Error("no frame within 5 s");
			await new Promise<void>((resolve) => {
				waiters.push(resolve);
				setTimeout(resolve, 100);
			});
		}
		return inbox.shift() as string;
	};
	return { ws, next };
}

describe("an error frame must be readable by the client's own parser", () => {
	// Bug: request_type echoes the whole `type` (and valibot's message the whole
	// wrong value), so the answer to a legal 16 KiB frame is itself over 16 KiB,
	// and parseServer (FlamingoClient, the test helpers) refuses it as bad_frame.
	it.each([
		["an unknown 16 KiB type", longUnknownType, "unknown_type"],
		["a 16 KiB wrong gender", longWrongGender, "invalid_payload"],
	])("the refusal of %s parses back with parseServer", (_name, make, code) => {
		const refusal = parseLobby(make());
		expect(refusal).toMatchObject({ ok: false, code });
		if (refusal.ok) return;
		const sent = buildError(refusal);
		expect(parseServer(sent)).toMatchObject({ ok: true, event: { type: "error", payload: { code } } });
	});

	it.each([
		["an unknown 16 KiB type", longUnknownType, "unknown_type"],
		["a 16 KiB wrong gender", longWrongGender, "invalid_payload"],
	])("over a real lobby socket: the answer to %s is a frame parseServer accepts", async (_name, make, code) => {
		const { ws, next } = await rawLobby();
		ws.send(make());
		const answer = await next();
		ws.close();
		expect(parseServer(answer)).toMatchObject({ ok: true, event: { type: "error", payload: { code } } });
	});
});

describe("an error message is well-formed Unicode when the frame is", () => {
	// Bug: `unknown event type "${type.slice(0, 64)}"` cuts by UTF-16 units, so a
	// type whose 64th unit is the first half of an astral character leaves a lone
	// surrogate in the message (sent as the JSON escape "\ud83e").
	it("an unknown type with an astral character across the 64th UTF-16 unit", () => {
		const frame = JSON.stringify({ type: `${"t".repeat(63)}🦩🦩` });
		expect(frame.isWellFormed()).toBe(true);
		const refusal = parseLobby(frame);
		expect(refusal).toMatchObject({ ok: false, code: "unknown_type" });
		if (refusal.ok) return;
		expect(refusal.message.isWellFormed(), JSON.stringify(refusal.message)).toBe(true);
	});
});
