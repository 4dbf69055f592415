// The message list, kept in step with the transcript: one <li> per message,
// added once and never rebuilt, its text set with textContent only. A message
// of ours carries its delivery state twice: `data-state` on the <li>
// ("sending" | "sent" | "delivered" | "refused", for the styles and the
// tests) and a status line under the bubble in words (texts.ts), so that it is
// read out, not only drawn as a tick.
import type { ChatMessage, MessageState, Transcript } from "../flamingo-client";
import { MESSAGE_STATES } from "./texts";

const NEAR_BOTTOM_PX = 80;

type OwnState = keyof typeof MESSAGE_STATES;

function isOwnState(state: MessageState): state is OwnState {
	return Object.hasOwn(MESSAGE_STATES, state);
}

export class MessageList {
	private chatId: string | null = null;
	private last: Transcript | null = null;
	private readonly items = new Map<string, HTMLLIElement>();

	constructor(
		private readonly list: HTMLOListElement,
		/** A message from the stranger that arrived while the list was shown (not one restored after a reload). */
		private readonly onIncoming: (message: ChatMessage) => void,
	) {}

	render(transcript: Transcript | null): void {
		if (transcript === this.last) return;
		this.last = transcript;
		const chatId = transcript?.chatId ?? null;
		const fresh = chatId !== this.chatId;
		if (fresh) {
			this.list.replaceChildren();
			this.items.clear();
			this.chatId = chatId;
		}
		if (!transcript) return;

		const list = this.list;
		const nearBottom = list.scrollHeight - list.scrollTop - list.clientHeight < NEAR_BOTTOM_PX;
		let added = false;
		let mineAdded = false;
		for (const m of transcript.messages) {
			let li = this.items.get(m.key);
			if (!li) {
				li = this.create(m);
				list.append(li);
				this.items.set(m.key, li);
				added = true;
				if (m.mine) mineAdded = true;
				else if (!fresh) this.onIncoming(m);
			}
			if (m.mine) this.setState(li, m.state);
		}
		if (added && (fresh || nearBottom || mineAdded)) this.scrollToEnd();
	}

	scrollToEnd(): void {
		this.list.scrollTop = this.list.scrollHeight;
	}

	private create(m: ChatMessage): HTMLLIElement {
		const li = document.createElement("li");
		li.className = m.mine ? "msg msg-out" : "msg msg-in";
		li.dataset.testid = m.mine ? "msg-out" : "msg-in";
		if (!m.mine) {
			li.textContent = m.content; // user text: never innerHTML
			return li;
		}
		const text = document.createElement("span");
		text.className = "msg-text";
		text.dataset.testid = "msg-text";
		text.textContent = m.content; // user text: never innerHTML
		// The tick is drawn by the styles; the words are what a screen reader reads.
		const status = document.createElement("span");
		status.className = "msg-status";
		status.dataset.testid = "msg-status";
		const words = document.createElement("span");
		words.className = "msg-status-text";
		status.append(words);
		li.append(text, status);
		return li;
	}

	/** Touches the DOM only when the state changed. */
	private setState(li: HTMLLIElement, state: MessageState): void {
		if (li.dataset.state === state || !isOwnState(state)) return;
		li.dataset.state = state;
		const words = li.querySelector(".msg-status-text");
		if (words) words.textContent = MESSAGE_STATES[state];
	}
}
