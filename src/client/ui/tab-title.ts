// The tab's title while the page is hidden: someone who switched tabs while
// waiting sees "Stranger found" when a match comes, and "(2) Flamingo Chat"
// for messages they have not seen; back on the tab, the plain title.
import { TAB_TITLES } from "./texts";

export interface TabTitle {
	matched(): void;
	message(): void;
}

export function createTabTitle(doc: Document = document): TabTitle {
	const plain = doc.title;
	let unread = 0;
	const set = (title: string) => {
		if (doc.title !== title) doc.title = title;
	};
	doc.addEventListener("visibilitychange", () => {
		if (doc.hidden) return;
		unread = 0;
		set(plain);
	});
	return {
		matched: () => {
			if (!doc.hidden) return;
			unread = 0; // the messages counted before belong to the last chat
			set(TAB_TITLES.matched(plain));
		},
		message: () => {
			if (!doc.hidden) return;
			unread++;
			set(TAB_TITLES.unread(unread, plain));
		},
	};
}
