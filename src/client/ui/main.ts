// Flamingo Chat in the browser: wires the page (index.html) to FlamingoClient.
// Every screen is drawn from the client's snapshot (with the age gate's
// answer); the page tells the client the start screen's preferences, so that
// its next() always knows them.
import { GENDERS, PREFERENCES } from "../../protocol/schemas";
import { FlamingoClient, type Preferences, type Snapshot } from "../flamingo-client";
import { createAgeGate } from "./age-gate";
import { createAnnouncer } from "./announce";
import { workerSolver } from "./challenge";
import { ChatMemo } from "./chat-memo";
import { createChips } from "./chips";
import { bindComposer } from "./composer";
import { byId } from "./dom";
import { bindKeys } from "./keys";
import { fillLanguages, fromLocale, languageCode } from "./language";
import { MessageList } from "./messages";
import { createNextButton } from "./next-button";
import { createNotifier } from "./notify";
import { isOneOf, loadPrefs, type SavedPrefs, savePrefs } from "./prefs";
import { createReportPanel } from "./report";
import { EndedReport } from "./report-ended";
import { refusedLast, type ScreenName, Screens } from "./screens";
import { createSound } from "./sound";
import { knownOnline, pollOnlineCount } from "./stats";
import { StatusLine, statusFor } from "./status";
import { createTabTitle } from "./tab-title";
import { CHALLENGE_NOTE, END_REASONS, LINK_BLOCKED, REPORT_PANEL, STATUS } from "./texts";

const solver = workerSolver();
const client = new FlamingoClient({ baseUrl: location.origin, solveChallenge: solver.solve });
const announce = createAnnouncer(byId("announcer"));
const screens = new Screens();
const status = new StatusLine(byId("status-line"), byId("status"), byId("status-dismiss"), announce);
const memo = new ChatMemo();

/**
 * The client's snapshots are drawn once its call returns (a microtask), each
 * of them, in order: what the call sends goes out first (join_queue on Start;
 * on a match the lobby's close and the chat socket's opening), before the
 * new screen's layout, which takes longer (5 to 15 ms on the development
 * machine), and still within the same task, so nothing is drawn later.
 */
const pending: Snapshot[] = [];
function draw(s: Snapshot): void {
	if (pending.push(s) === 1) queueMicrotask(drawPending);
}
function drawPending(): void {
	for (const s of pending.splice(0)) render(s);
}
/** Draws the current snapshot now, after any still waiting. */
function redraw(): void {
	drawPending();
	render(client.snapshot);
}

// ---- age gate and start screen ----------------------------------------------------

const age = createAgeGate(() => {
	offerPrefs();
	redraw();
});

const gender = byId<HTMLSelectElement>("gender");
const preference = byId<HTMLSelectElement>("preference");
const language = byId<HTMLSelectElement>("language");
const saved = loadPrefs();
if (saved.gender) gender.value = saved.gender;
if (saved.preference) preference.value = saved.preference;
// The browser's language until the person saves another choice ("Any language" included).
fillLanguages(language, saved.language, fromLocale(navigator.language));

const currentPrefs = (): SavedPrefs => ({
	gender: isOneOf(GENDERS, gender.value) ? gender.value : "other",
	preference: isOneOf(PREFERENCES, preference.value) ? preference.value : "any",
	interests: chips.values(),
	language: languageCode(language.value),
});

/** What a search sends: the start screen's preferences and the age group (null until it is known). */
function searchPrefs(prefs: SavedPrefs): Preferences | null {
	const ageBand = age.band();
	if (!ageBand) return null;
	const p: Preferences = { gender: prefs.gender, preference: prefs.preference, ageBand };
	if (prefs.interests.length > 0) p.interests = prefs.interests;
	if (prefs.language) p.language = prefs.language;
	return p;
}

/**
 * The client's next() searches with the start screen's preferences, also in
 * a tab that took a chat over from another one (ready.chat) and so never
 * called start().
 */
function offerPrefs(): void {
	const p = searchPrefs(currentPrefs());
	if (p) client.setPreferences(p);
}
const remember = () => {
	savePrefs(currentPrefs());
	offerPrefs();
};

const chips = createChips({
	input: byId<HTMLInputElement>("interests"),
	list: byId<HTMLUListElement>("chips"),
	hint: byId("interests-hint"),
	initial: saved.interests ?? [],
	announce,
	onChange: remember,
});
gender.addEventListener("change", remember);
preference.addEventListener("change", remember);
language.addEventListener("change", remember);
offerPrefs();

function startSearch(): void {
	const prefs = currentPrefs();
	const p = searchPrefs(prefs);
	if (!p) {
		// Not answered (storage was cleared meanwhile): ask first.
		if (client.snapshot.phase === "ended") client.back();
		age.ask();
		return;
	}
	savePrefs(prefs);
	client.start(p);
}

byId<HTMLFormElement>("start-form").addEventListener("submit", (e) => {
	e.preventDefault();
	const phase = client.snapshot.phase;
	if ((phase === "idle" || phase === "ended") && chips.commitPending()) startSearch();
});

byId("cancel").addEventListener("click", () => {
	solver.abort();
	client.cancel();
});

// ---- chat and ended screens ------------------------------------------------------

/**
 * Next in a chat: the client leaves and looks again with the start screen's
 * preferences (offerPrefs); its snapshot says `searching` meanwhile, and the
 * page shows "looking". From the ended screen: a new search from the start screen.
 */
function nextStranger(): void {
	const phase = client.snapshot.phase;
	if (phase === "chatting" || phase === "joining") {
		if (age.band()) client.next();
		else {
			// Not answered (storage was cleared meanwhile): leave, and ask first.
			client.leave();
			age.ask();
		}
	} else if (phase === "ended" || phase === "idle") startSearch();
}

// Away from the tab: the title, an optional sound, an optional notification.
const tabTitle = createTabTitle();
const sound = createSound(byId<HTMLInputElement>("sound-toggle"));
const notifier = createNotifier(byId<HTMLInputElement>("notify-toggle"), byId("notify-line"), announce);
client.on("match_found", () => {
	tabTitle.matched();
	sound.play("match");
	notifier.matched();
});

const messages = new MessageList(byId<HTMLOListElement>("messages"), (m) => {
	announce(`Stranger: ${m.content}`);
	tabTitle.message();
	sound.play("message");
});
bindComposer(byId<HTMLFormElement>("composer"), byId<HTMLTextAreaElement>("message-input"), client);
const next = createNextButton(byId<HTMLButtonElement>("next"), announce, nextStranger);
const report = createReportPanel({
	panel: byId("report-panel"),
	title: byId("report-title"),
	reason: byId<HTMLSelectElement>("report-reason"),
	confirm: byId<HTMLButtonElement>("report-confirm"),
	cancel: byId<HTMLButtonElement>("report-cancel"),
	openers: [
		{
			button: byId<HTMLButtonElement>("report"),
			after: byId("partner-status"),
			title: REPORT_PANEL.chat.title,
			confirmLabel: REPORT_PANEL.chat.confirm,
			onReport: (reason) => client.report(reason),
		},
		{
			// After the end: the lobby's report, for 5 minutes (report-ended.ts).
			button: byId<HTMLButtonElement>("report-ended"),
			after: byId("ended-actions"),
			title: REPORT_PANEL.ended.title,
			confirmLabel: REPORT_PANEL.ended.confirm,
			onReport: (reason) => {
				client.reportEnded(reason);
				byId("next-stranger").focus();
			},
		},
	],
});
const endedReport = new EndedReport(byId<HTMLButtonElement>("report-ended"), announce, redraw);
byId("end").addEventListener("click", () => client.leave());
byId("next-stranger").addEventListener("click", nextStranger);
byId("back").addEventListener("click", () => client.back());
byId("use-here").addEventListener("click", () => {
	client.connect(); // no longer `replaced`; the lobby's ready.chat brings back the chat if it still lives
	byId("next-stranger").focus();
});

bindKeys({
	closeReport: () => {
		if (!report.isOpen()) return false;
		report.close(true);
		return true;
	},
	inChat: () => screens.current === "chat",
	pressNext: () => next.press(),
});

// ---- drawing ---------------------------------------------------------------------------

function screenFor(s: Snapshot): ScreenName {
	switch (s.phase) {
		case "idle":
			// A transcript restored after a reload, before the server says whether the chat lives on.
			if (s.transcript && !s.connected) return "chat";
			return age.asking() ? "age" : "start";
		case "waiting":
			return "waiting";
		case "joining":
		case "chatting":
			return "chat";
		case "ended":
			// The chat left by Next: the next search is under way.
			return s.searching ? "waiting" : "ended";
	}
}

const FOCUS_ON_ENTER: Record<ScreenName, () => HTMLElement> = {
	age: () => byId("age-title"),
	start: () => byId("start"),
	waiting: () => byId("waiting-title"),
	chat: () => byId("message-input"),
	ended: () => byId("ended-reason"),
};

/**
 * After this long without a connection the status suggests a reload as well:
 * FlamingoClient keeps retrying (its backoff grows to 10 s), but a reload
 * resumes at once (a live chat comes back through ready.chat).
 */
const STILL_LOST_MS = 20_000;

let everConnected = false;
let lostAt: number | null = null;
let lostTimer: ReturnType<typeof setTimeout> | undefined;
let lastError: Snapshot["error"] = null;
let ticker: ReturnType<typeof setInterval> | undefined;
/** The refused message whose explanation was announced, and whether a challenge was on last time. */
let refusedSaid: string | null = null;
let challenged = false;

function render(s: Snapshot): void {
	if (s.connected) everConnected = true;
	const screen = screenFor(s);
	const first = screens.current === null;
	if (screens.show(screen)) {
		next.disarm();
		report.close(false);
		if (s.error === lastError) status.dropError(); // an error from before belongs to the screen left behind
		if (!first || screen === "chat") FOCUS_ON_ENTER[screen]().focus();
		if (screen === "ended" && s.endReason) announce(END_REASONS[s.endReason]);
	}
	lastError = s.error;

	if (screen === "waiting") {
		screens.renderWaiting(s, Date.now());
		ticker ??= setInterval(() => screens.renderWaiting(client.snapshot, Date.now()), 1000);
	} else if (ticker !== undefined) {
		clearInterval(ticker);
		ticker = undefined;
	}

	if (s.challenge && !challenged) announce(CHALLENGE_NOTE);
	challenged = s.challenge !== null;

	const chat = memo.update(s);
	if (screen === "chat" || screen === "ended") {
		messages.render(s.transcript);
		screens.renderChat(s, chat);
		if (screen === "ended") screens.renderEnded(s);
	}
	endedReport.render(s, screen === "ended");
	const refusedKey = screen === "chat" ? (refusedLast(s)?.key ?? null) : null;
	if (refusedKey !== null && refusedKey !== refusedSaid) announce(`Not sent. ${LINK_BLOCKED}`);
	refusedSaid = refusedKey;
	// Another tab took over (`replaced`): nothing is lost, this tab waits to be used again.
	const lost = !s.connected && everConnected && !s.replaced && screen !== "ended";
	if (!lost) {
		lostAt = null;
		clearTimeout(lostTimer);
	} else if (lostAt === null) {
		lostAt = Date.now();
		lostTimer = setTimeout(redraw, STILL_LOST_MS);
	}
	let said = statusFor(s, screen, everConnected, chat?.joined ?? false);
	if (s.replaced && screen === "start" && !s.connected) said = STATUS.elsewhere;
	else if (lost && lostAt !== null && Date.now() - lostAt >= STILL_LOST_MS) said = STATUS.stillLost;
	// A link the gate refused is explained next to the message box, not up here.
	status.render(said, s.error?.code === "link_blocked" ? null : s.error, lost);
}

const online = pollOnlineCount(byId("online-count"));
let presence: Snapshot["presence"] = null;
client.subscribe((s) => {
	if (s.presence && s.presence !== presence) online.exact(s.presence.online);
	presence = s.presence;
	online.atLeast(knownOnline(s));
});
client.subscribe(draw);
redraw();
client.connect();
