// The protocol's own types, from the schemas in src/protocol (one source).
// Frames are also validated at run time against those schemas in ws-client.ts.
export type {
	ChatRef,
	EndReason,
	Gender,
	Preference,
	Presence,
	ServerEvent,
	ServerEventType,
	ServerPayload,
} from "../../src/protocol/schemas";

export const USER_ID = /^[0-9a-f]{16}$/;
export const CHAT_ID = /^[0-9a-f]{32}$/;
