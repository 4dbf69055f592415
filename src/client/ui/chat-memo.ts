// What the page knows about the current chat beyond the client's snapshot,
// kept in sessionStorage so that a reload still shows it: the stranger's
// gender, language and shared interests (ready.chat does not repeat them) and whether
// the stranger has joined yet (else an absent stranger is "not here yet"
// rather than "reconnecting").
import { GENDERS } from "../../protocol/schemas";
import type { Snapshot } from "../flamingo-client";
import { readJson, removeKey, webStorage, writeJson } from "../web-storage";
import { languageCode } from "./language";
import { isOneOf } from "./prefs";

const KEY = "flamingo.ui.chat";

export interface ChatInfo {
	chatId: string;
	partner: Snapshot["partner"];
	withInterests: boolean;
	joined: boolean;
}

const session = webStorage("sessionStorage");

function read(): ChatInfo | null {
	const v = readJson(session, KEY) as Partial<ChatInfo> | null;
	if (typeof v !== "object" || v === null || typeof v.chatId !== "string") return null;
	const p = v.partner;
	const partner =
		p && isOneOf(GENDERS, p.gender) && Array.isArray(p.sharedInterests)
			? {
					gender: p.gender,
					sharedInterests: p.sharedInterests.filter((i) => typeof i === "string"),
					...(languageCode(p.language) ? { language: p.language } : {}),
				}
			: null;
	return { chatId: v.chatId, partner, withInterests: v.withInterests === true, joined: v.joined === true };
}

function write(info: ChatInfo | null): void {
	if (info) writeJson(session, KEY, info);
	else removeKey(session, KEY);
}

export class ChatMemo {
	private info = read();

	/** Brings the memo up to date with `s` and returns it (null outside a chat). */
	update(s: Snapshot): ChatInfo | null {
		const chatId = s.transcript?.chatId;
		if (!chatId) {
			if (this.info) {
				this.info = null;
				write(null);
			}
			return null;
		}
		const before = JSON.stringify(this.info);
		if (this.info?.chatId !== chatId) {
			this.info = { chatId, partner: null, withInterests: false, joined: false };
		}
		const info = this.info;
		if (s.partner && !info.partner) {
			info.partner = s.partner;
			info.withInterests = s.withInterests;
		}
		if (s.phase === "chatting" && s.partnerOnline) info.joined = true;
		if (JSON.stringify(info) !== before) write(info);
		return info;
	}
}
