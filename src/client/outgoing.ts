// The frames a client writes, typed from the protocol's schemas on their input
// side (what the client may write before the server trims and fills in
// defaults), one union per socket: `report` means different things on each.
import type * as v from "valibot";
import type { clientChatPayloads, clientLobbyPayloads, singleInitPayload } from "../protocol/schemas";

type InputsOf<T extends Record<string, v.GenericSchema>> = {
	[K in keyof T]: { type: K; payload: v.InferInput<T[K]> };
}[keyof T];

export type LobbyFrame = InputsOf<typeof clientLobbyPayloads>;
export type ChatFrame = InputsOf<typeof clientChatPayloads>;
export type LobbyPayload<K extends LobbyFrame["type"]> = Extract<LobbyFrame, { type: K }>["payload"];
/** `init` as the client writes it; `after` only on `/ws/single` (the last message id it has of its live chat). */
export type InitPayload = v.InferInput<typeof singleInitPayload>;
