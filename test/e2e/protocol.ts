// The server → client events of /work/shared/PROTOCOL.md, typed from the
// contract itself (not from src/), so these tests stay a black-box check.

export type Gender = "male" | "female" | "other";
export type Preference = Gender | "any";

export interface Presence {
	online: number;
	waiting: number;
	chatting: number;
}

export interface ChatRef {
	chat_id: string;
	ticket: string;
	chat_url: string;
}

export type EndReason = "you_left" | "partner_left" | "you_reported" | "partner_disconnected" | "abandoned";

export interface ServerPayloads {
	ready: { user_id: string; token: string; resumed: boolean; presence: Presence; chat?: ChatRef };
	queue_joined: { waiting: number };
	queue_left: Record<string, never>;
	match_found: ChatRef & { partner: { gender: Gender }; shared_interests: string[] };
	pong: Record<string, never>;
	error: { code: string; message: string; request_type?: string; retry_after_ms?: number };
	chat_joined: { chat_id: string; partner_online: boolean };
	partner_status: { online: boolean };
	message_sent: { chat_id: string; message_id: number; client_msg_id?: string; sent_at: number };
	message_received: { chat_id: string; message_id: number; content: string; sent_at: number };
	partner_typing: { is_typing: boolean };
	chat_ended: { chat_id: string; reason: EndReason };
}

export type ServerEventType = keyof ServerPayloads;
export type ServerPayload<T extends ServerEventType> = ServerPayloads[T];
export type ServerEvent = { [K in ServerEventType]: { type: K; payload: ServerPayloads[K] } }[ServerEventType];

export const USER_ID = /^[0-9a-f]{16}$/;
export const CHAT_ID = /^[0-9a-f]{32}$/;
