// The browser app in Debian's Chromium (playwright-core), against the real
// `npm run dev`: what a person does, through the stable data-testid hooks.
import { mkdirSync, writeFileSync } from "node:fs";
import { type Browser, type BrowserContext, chromium, type Page } from "playwright-core";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { useDevServer } from "../e2e/helpers";

const server = useDevServer({ vars: { PER_IP_LIMITS: "off" } });
const ARTIFACTS = "test-results/browser";
const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";

let browser: Browser;
const contexts: BrowserContext[] = [];
/** Every alert/confirm/prompt the app opened: there must be none. */
const dialogs: string[] = [];

beforeAll(async () => {
	mkdirSync(ARTIFACTS, { recursive: true });
	browser = await chromium.launch({
		executablePath: CHROMIUM,
		args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-dev-shm-usage"],
	});
});

afterEach(async () => {
	await Promise.all(contexts.splice(0).map((c) => c.close()));
	expect(dialogs).toEqual([]);
});

afterAll(async () => {
	await browser?.close();
});

/** A person in a fresh browser profile, on the start screen. */
async function person(width = 1280, colorScheme: "light" | "dark" = "light"): Promise<Page> {
	const context = await browser.newContext({ viewport: { width, height: 800 }, colorScheme });
	contexts.push(context);
	const page = await context.newPage();
	page.on("dialog", (d) => {
		dialogs.push(`${d.type()}: ${d.message()}`);
		void d.dismiss();
	});
	page.on("pageerror", (e) => {
		throw new Error(`page error: ${e.message}`);
	});
	await page.goto(server.baseUrl);
	await expect.poll(() => screen(page)).toBe("start");
	return page;
}

/** Which screen is showing (data-screen of the visible container). */
function screen(page: Page): Promise<string | null> {
	return page.locator("[data-screen]:visible").first().getAttribute("data-screen", { timeout: 2_000 });
}

async function waitForScreen(page: Page, name: string, timeout = 10_000): Promise<void> {
	await page.locator(`[data-screen="${name}"]`).waitFor({ state: "visible", timeout });
}

async function start(page: Page, gender: string, preference: string, interests: string[] = []): Promise<void> {
	await page.getByTestId("gender").selectOption(gender);
	await page.getByTestId("preference").selectOption(preference);
	for (const interest of interests) {
		await page.getByTestId("interests").fill(interest);
		await page.getByTestId("interests").press("Enter");
	}
	await page.getByTestId("start").click();
}

async function matchedPair(width = 1280): Promise<[Page, Page]> {
	const a = await person(width);
	const b = await person(width);
	await start(a, "female", "any");
	await waitForScreen(a, "waiting");
	await start(b, "male", "any");
	await Promise.all([waitForScreen(a, "chat"), waitForScreen(b, "chat")]);
	return [a, b];
}

async function say(page: Page, text: string): Promise<void> {
	await page.getByTestId("message-input").fill(text);
	await page.getByTestId("send").click();
}

const received = (page: Page) => page.getByTestId("msg-in");
const sent = (page: Page) => page.getByTestId("msg-out");

async function shoot(page: Page, name: string): Promise<void> {
	await page.screenshot({ path: `${ARTIFACTS}/${name}.png`, fullPage: true });
}

describe("the browser app", () => {
	it("two people match, chat both ways in Unicode and see each other typing", async () => {
		const [a, b] = await matchedPair();
		await say(a, "Hallo 👋 — ¿qué tal? 你好");
		await expect.poll(() => received(b).last().textContent()).toBe("Hallo 👋 — ¿qué tal? 你好");
		await expect.poll(() => sent(a).last().getAttribute("data-state")).toBe("sent");
		await b.getByTestId("message-input").fill("typing…");
		await a.getByTestId("typing").waitFor({ state: "visible" });
		await b.getByTestId("message-input").press("Enter");
		await expect.poll(() => received(a).last().textContent()).toBe("typing…");
		await a.getByTestId("typing").waitFor({ state: "hidden" });
		expect(await received(a).count()).toBe(1);
		expect(await sent(b).count()).toBe(1);
	});

	it("a message with HTML shows as text", async () => {
		const [a, b] = await matchedPair();
		const evil = "<img src=x onerror=alert(1)>";
		await say(a, evil);
		await expect.poll(() => received(b).last().textContent()).toBe(evil);
		expect(await b.getByTestId("messages").locator("img").count()).toBe(0);
		expect(await a.getByTestId("messages").locator("img").count()).toBe(0);
	});

	it("one side reloads mid-chat and the chat continues with nothing lost", async () => {
		const [a, b] = await matchedPair();
		await say(a, "one");
		await expect.poll(() => received(b).count()).toBe(1);
		await say(b, "two");
		await expect.poll(() => received(a).count()).toBe(1);
		await b.reload();
		await say(a, "three (while you reloaded)");
		await waitForScreen(b, "chat");
		await expect.poll(() => received(b).allTextContents()).toEqual(["one", "three (while you reloaded)"]);
		expect(await sent(b).allTextContents()).toEqual(["two"]);
		await say(b, "back");
		await expect.poll(() => received(a).allTextContents()).toEqual(["two", "back"]);
	});

	it("the partner's reconnecting banner shows while they are away", async () => {
		const [a, b] = await matchedPair();
		await a.getByTestId("partner-status").waitFor({ state: "hidden" });
		await b.close();
		await a.getByTestId("partner-status").waitFor({ state: "visible", timeout: 10_000 });
	});

	it("Next (Esc twice) returns both to a usable state", async () => {
		const [a, b] = await matchedPair();
		await a.getByTestId("message-input").press("Escape");
		expect(await screen(a)).toBe("chat");
		await a.getByTestId("message-input").press("Escape");
		await waitForScreen(a, "waiting");
		await waitForScreen(b, "ended");
		expect((await b.getByTestId("ended-reason").textContent())?.length).toBeGreaterThan(0);
		await b.getByTestId("next-stranger").click();
		await waitForScreen(b, "waiting");
		// Last partners are kept apart: each meets someone new.
		const c = await person();
		await start(c, "other", "any");
		await waitForScreen(c, "chat");
		const d = await person();
		await start(d, "other", "any");
		await waitForScreen(d, "chat");
		await Promise.all([waitForScreen(a, "chat"), waitForScreen(b, "chat")]);
		await say(a, "new partner");
		await say(b, "me too");
		await expect
			.poll(async () => (await received(c).allTextContents()).concat(await received(d).allTextContents()).sort())
			.toEqual(["me too", "new partner"]);
	});

	it("Report ends the chat for both", async () => {
		const [a, b] = await matchedPair();
		await a.getByTestId("report").click();
		await a.getByTestId("report-reason").selectOption("spam");
		await a.getByTestId("report-confirm").click();
		await Promise.all([waitForScreen(a, "ended"), waitForScreen(b, "ended")]);
		expect(await a.getByTestId("ended-reason").textContent()).toMatch(/report/i);
		expect(await b.getByTestId("ended-reason").textContent()).toMatch(/left/i);
		await b.getByTestId("next-stranger").click();
		await waitForScreen(b, "waiting");
	});

	it("End leaves the chat; Cancel stops waiting", async () => {
		const [a, b] = await matchedPair();
		await a.getByTestId("end").click();
		await Promise.all([waitForScreen(a, "ended"), waitForScreen(b, "ended")]);
		await b.getByTestId("next-stranger").click();
		await waitForScreen(b, "waiting");
		await expect.poll(async () => Number(await b.getByTestId("waiting-count").textContent())).toBeGreaterThan(0);
		await b.getByTestId("cancel").click();
		await waitForScreen(b, "start");
	});

	it("interests become chips (at most 5) and the online counter shows a number", async () => {
		const a = await person();
		for (const i of ["Music", "music", "Chess", "Go", "Art", "Films", "Sixth"]) {
			await a.getByTestId("interests").fill(i);
			await a.getByTestId("interests").press("Enter");
		}
		const chips = await a.locator("[data-testid=interests] ~ * [data-chip], [data-chip]").count();
		expect(chips).toBe(5);
		await expect
			.poll(async () => /^\d+$/.test((await a.getByTestId("online-count").textContent())?.trim() ?? ""))
			.toBe(true);
	});

	it("is usable by keyboard alone", async () => {
		const a = await person();
		const b = await person();
		await start(b, "male", "any");
		await waitForScreen(b, "waiting");
		await a.getByTestId("gender").focus();
		await a.keyboard.press("ArrowDown");
		let guard = 0;
		while (!(await a.getByTestId("start").evaluate((el) => el === document.activeElement)) && guard++ < 30) {
			await a.keyboard.press("Tab");
		}
		await a.keyboard.press("Enter");
		await waitForScreen(a, "chat");
		expect(await a.getByTestId("message-input").evaluate((el) => el === document.activeElement)).toBe(true);
		await a.keyboard.type("by keyboard");
		await a.keyboard.press("Enter");
		await expect.poll(() => received(b).last().textContent()).toBe("by keyboard");
	});

	it("screenshots of every screen at 1280 and 360 px, without horizontal scrolling", async () => {
		for (const width of [1280, 360]) {
			for (const scheme of ["light", "dark"] as const) {
				const tag = `${width}-${scheme}`;
				const a = await person(width, scheme);
				await a.getByTestId("interests").fill("music");
				await a.getByTestId("interests").press("Enter");
				await shoot(a, `start-${tag}`);
				await start(a, "female", "any");
				await waitForScreen(a, "waiting");
				await shoot(a, `waiting-${tag}`);
				const b = await person(width, scheme);
				await start(b, "male", "any", ["music"]);
				await waitForScreen(a, "chat");
				await say(a, "Hi! Anyone into music? 🎵");
				await say(b, "Yes, jazz mostly. <b>not bold</b>");
				await expect.poll(() => received(a).count()).toBe(1);
				await b.getByTestId("message-input").fill("…");
				await a.getByTestId("typing").waitFor({ state: "visible" });
				await shoot(a, `chat-${tag}`);
				await a.getByTestId("report").click();
				await shoot(a, `report-${tag}`);
				await a.getByTestId("report-reason").selectOption("other");
				await a.getByTestId("report-confirm").click();
				await waitForScreen(b, "ended");
				await shoot(b, `ended-${tag}`);
				for (const page of [a, b]) {
					const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
					expect(overflow).toBeLessThanOrEqual(0);
				}
				await Promise.all(contexts.splice(0).map((c) => c.close()));
			}
		}
	});

	it("records the time from both pressing Start to both chat screens (median of 20)", async () => {
		const a = await person();
		const b = await person();
		const times: number[] = [];
		for (let run = 0; run < 20; run++) {
			// Each run is a fresh pair of identities' worth of chats: End, then Back to the start screen.
			await a.getByTestId("gender").selectOption("female");
			await b.getByTestId("gender").selectOption("male");
			const t0 = performance.now();
			await Promise.all([a.getByTestId("start").click(), b.getByTestId("start").click()]);
			await Promise.all([waitForScreen(a, "chat"), waitForScreen(b, "chat")]);
			times.push(performance.now() - t0);
			await a.getByTestId("end").click();
			await Promise.all([waitForScreen(a, "ended"), waitForScreen(b, "ended")]);
			// Clear the no-rematch memory between runs: new identities.
			for (const page of [a, b]) {
				await page.evaluate(() => {
					localStorage.clear();
					sessionStorage.clear();
				});
				await page.reload();
				await waitForScreen(page, "start");
			}
		}
		expect(times).toHaveLength(20);
		const sorted = [...times].sort((x, y) => x - y);
		const median = ((sorted[9] ?? 0) + (sorted[10] ?? 0)) / 2;
		const figures = { start_to_chat_ms: { median, min: sorted[0], max: sorted[19], runs: times } };
		writeFileSync(`${ARTIFACTS}/figures.json`, `${JSON.stringify(figures, null, 2)}\n`);
		console.log(`start → both chat screens: median ${median.toFixed(1)} ms over 20 runs`);
	});
});
