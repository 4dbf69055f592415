// One structured JSON line per meaningful event, for Workers Logs
// (`[observability]` in wrangler.toml); matches, the Matchmaker's hot path,
// are summarised per sweep (app/matchmaker/match-stats.ts). Never message content,
// user ids, tokens, tickets or addresses: only what operating the service needs.

import type { LoadSummary } from "./app/matchmaker/load-stats";
import type { MatchSummary } from "./app/matchmaker/match-stats";

export type LogEvent =
	| { event: "upgrade_refused"; reason: "origin" | "rate_limit" | "sockets_per_address"; path: string }
	| { event: "ticket_refused"; reason: "invalid" | "chat_over" | "foreign" }
	| { event: "session_refused"; reason: "no_secret" }
	| ({ event: "matches"; lobby: string } & MatchSummary)
	| ({ event: "lobby_load"; lobby: string } & LoadSummary)
	| {
			event: "chat_ended";
			chat_id: string;
			reason: string;
			duration_ms: number;
			/** Accepted messages; those the server had to store; rows written in all, and for messages. */
			messages: number;
			messages_stored: number;
			rows_written: number;
			message_rows_written: number;
	  }
	| { event: "report"; chat_id: string; reason: string }
	| { event: "rate_limited"; socket: "lobby" | "chat"; request_type: string | null; closed: boolean }
	| { event: "heartbeat_timeout"; socket: "lobby" | "chat"; count: number }
	| { event: "init_timeout"; count: number }
	| { event: "unjoined_chats_dropped"; count: number }
	| { event: "challenge"; cause: "chats" | "rate_limits" | "address"; difficulty: number }
	| { event: "internal_error"; where: string; error: string };

export function log(entry: LogEvent): void {
	console.log(JSON.stringify({ ts: new Date().toISOString(), ...entry }));
}

/** An error's message, never its whole object (which may carry request data). */
export function errorText(err: unknown): string {
	return err instanceof Error ? `${err.name}: ${err.message}` : String(err);
}
