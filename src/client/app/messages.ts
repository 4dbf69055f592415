// The message list, kept in step with the transcript: one <li> per message,
// added once and never rebuilt, its text set with textContent only.
import type { ChatMessage, Transcript } from "../flamingo-client";

const NEAR_BOTTOM_PX = 80;

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
			if (m.mine && li.dataset.state !== m.state) li.dataset.state = m.state;
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
		if (m.mine) li.dataset.state = m.state;
		li.textContent = m.content; // user text: never innerHTML
		return li;
	}
}
