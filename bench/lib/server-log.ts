// Figures our server's objects report about themselves in their JSON log
// lines, read from wrangler dev's output as they come (BenchServer.onLine):
// - `chat_ended` (src/app/chat/chat-room.ts): per chat, the messages it accepted and
//   the storage rows it wrote, in all and for messages;
// - `lobby_load` (src/app/matchmaker/load-stats.ts): per Matchmaker sweep, what reached
//   it, with the matches it made and the rows it wrote since the last line.
// Rows written are what a SQLite-backed Durable Object is billed for, so the
// bench reads the bill from the objects themselves.
import type { LogEvent } from "../../src/log.ts";
import { sleep } from "./poisson.ts";
import type { BenchServer } from "./servers.ts";

/** The `chat_ended` line as src/log.ts defines it (one definition for the server and the bench). */
export type ChatEndedLine = Omit<Extract<LogEvent, { event: "chat_ended" }>, "event">;

export interface LobbyLoadLine {
	upgrades: number;
	frames: number;
	closes: number;
	rpc_chat: number;
	alarms: number;
	/** Absent before the Matchmaker counted them. */
	matches?: number;
	rows_written?: number;
	window_ms: number;
}

/** Rows written by the chats of one run, summed over their `chat_ended` lines. */
export interface ChatRows {
	/** Chats whose `chat_ended` line was read, and those still missing when the wait ended. */
	chats: number;
	missing: number;
	/** Σ messages accepted, Σ of them stored. */
	messages: number;
	messagesStored: number;
	/** Σ rows_written (everything the chat objects wrote) and Σ message_rows_written. */
	rowsWritten: number;
	messageRowsWritten: number;
	/** Σ message_rows_written / Σ messages × 1,000. */
	messageRowsPer1000: number;
	/** Σ rows_written / Σ messages × 1,000 (per-chat overhead included). */
	rowsPer1000: number;
	/** Mean rows_written per chat, from its match to its end; and of them, those not for messages. */
	rowsPerChat: number;
	otherRowsPerChat: number;
	reasons: Record<string, number>;
}

/** The Matchmaker's rows and matches, summed over its `lobby_load` lines in a span. */
export interface LobbyRows {
	lines: number;
	seconds: number;
	matches: number;
	rowsWritten: number;
	/** rowsWritten / matches; null when the lines do not carry both fields (not measured). */
	rowsPerMatch: number | null;
	upgrades: number;
	frames: number;
	rpcChat: number;
	alarms: number;
	/** Whether the span ended on a line after its last chat ended (false: the wait timed out). */
	complete: boolean;
}

const round = (x: number, digits = 2) => Math.round(x * 10 ** digits) / 10 ** digits;

function jsonOf<T>(line: string): T | null {
	const start = line.indexOf("{");
	if (start < 0) return null;
	try {
		return JSON.parse(line.slice(start)) as T;
	} catch {
		return null; // a line cut by the pipe
	}
}

export class ServerEvents {
	/** chat_id → its `chat_ended` line and when it arrived (performance.now()). */
	readonly chatEnded = new Map<string, { at: number; line: ChatEndedLine }>();
	readonly lobbyLoad: { at: number; line: LobbyLoadLine }[] = [];
	private readonly off: () => void;

	constructor(server: BenchServer) {
		this.off = server.onLine((text) => {
			if (text.includes('"event":"chat_ended"')) {
				const line = jsonOf<ChatEndedLine>(text);
				if (line) this.chatEnded.set(line.chat_id, { at: performance.now(), line });
			} else if (text.includes('"event":"lobby_load"')) {
				const line = jsonOf<LobbyLoadLine>(text);
				if (line) this.lobbyLoad.push({ at: performance.now(), line });
			}
		});
	}

	stop(): void {
		this.off();
	}

	/** Waits (bounded) until every chat in `ids` has logged `chat_ended`; returns how many have not. */
	async waitChatsEnded(ids: readonly string[], timeoutMs: number): Promise<number> {
		const deadline = performance.now() + timeoutMs;
		let missing = ids.filter((id) => !this.chatEnded.has(id)).length;
		while (missing > 0 && performance.now() < deadline) {
			await sleep(100);
			missing = ids.filter((id) => !this.chatEnded.has(id)).length;
		}
		return missing;
	}

	/** The first `lobby_load` line that arrives after `after` (performance.now()), waiting at most `timeoutMs`; its time, or null. */
	async waitLobbyLine(after: number, timeoutMs: number): Promise<number | null> {
		const deadline = performance.now() + timeoutMs;
		for (;;) {
			const found = this.lobbyLoad.find((l) => l.at > after);
			if (found) return found.at;
			if (performance.now() >= deadline) return null;
			await sleep(100);
		}
	}

	/** When the last of these chats logged `chat_ended` (0 if none did). */
	lastEnded(ids: readonly string[]): number {
		let last = 0;
		for (const id of ids) last = Math.max(last, this.chatEnded.get(id)?.at ?? 0);
		return last;
	}

	chatRows(ids: readonly string[]): ChatRows {
		const out: ChatRows = {
			chats: 0,
			missing: 0,
			messages: 0,
			messagesStored: 0,
			rowsWritten: 0,
			messageRowsWritten: 0,
			messageRowsPer1000: Number.NaN,
			rowsPer1000: Number.NaN,
			rowsPerChat: Number.NaN,
			otherRowsPerChat: Number.NaN,
			reasons: {},
		};
		for (const id of ids) {
			const ended = this.chatEnded.get(id);
			if (!ended) {
				out.missing++;
				continue;
			}
			const l = ended.line;
			out.chats++;
			out.messages += l.messages;
			out.messagesStored += l.messages_stored;
			out.rowsWritten += l.rows_written;
			out.messageRowsWritten += l.message_rows_written;
			out.reasons[l.reason] = (out.reasons[l.reason] ?? 0) + 1;
		}
		if (out.messages > 0) {
			out.messageRowsPer1000 = round((out.messageRowsWritten / out.messages) * 1000);
			out.rowsPer1000 = round((out.rowsWritten / out.messages) * 1000);
		}
		if (out.chats > 0) {
			out.rowsPerChat = round(out.rowsWritten / out.chats);
			out.otherRowsPerChat = round((out.rowsWritten - out.messageRowsWritten) / out.chats);
		}
		return out;
	}

	/** The `lobby_load` lines that arrived in (from, to], summed. */
	lobbyRows(from: number, to: number, complete: boolean): LobbyRows {
		const out: LobbyRows = {
			lines: 0,
			seconds: round((to - from) / 1000, 1),
			matches: 0,
			rowsWritten: 0,
			rowsPerMatch: null,
			upgrades: 0,
			frames: 0,
			rpcChat: 0,
			alarms: 0,
			complete,
		};
		let measured = true;
		for (const { at, line } of this.lobbyLoad) {
			if (at <= from || at > to) continue;
			out.lines++;
			if (line.matches === undefined || line.rows_written === undefined) measured = false;
			out.matches += line.matches ?? 0;
			out.rowsWritten += line.rows_written ?? 0;
			out.upgrades += line.upgrades ?? 0;
			out.frames += line.frames ?? 0;
			out.rpcChat += line.rpc_chat ?? 0;
			out.alarms += line.alarms ?? 0;
		}
		if (measured && out.lines > 0 && out.matches > 0) out.rowsPerMatch = round(out.rowsWritten / out.matches);
		return out;
	}
}
