import type { ChatRoom } from "./app/chat/chat-room";
import type { Matchmaker } from "./app/matchmaker/matchmaker";
import type { Presence } from "./app/presence/presence";

/** Bindings of wrangler.toml, plus optional timing overrides used by tests. */
export interface Env {
	MATCHMAKER: DurableObjectNamespace<Matchmaker>;
	CHAT_ROOM: DurableObjectNamespace<ChatRoom>;
	PRESENCE: DurableObjectNamespace<Presence>;
	UPGRADE_LIMITER?: RateLimit;
	SECRET?: string;
	ALLOWED_ORIGINS?: string;
	PER_IP_LIMITS?: string;
	INTEREST_WINDOW_MS?: string;
	GRACE_MS?: string;
	ABANDON_MS?: string;
	HEARTBEAT_TIMEOUT_MS?: string;
	SWEEP_MS?: string;
	CHALLENGE_DIFFICULTY?: string;
	LINK_GATE_MS?: string;
	INIT_TIMEOUT_MS?: string;
}
