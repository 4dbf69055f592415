// The browser app under its own Content-Security-Policy, in Debian's Chromium
// (playwright-core) against the real `npm run dev`: a whole chat breaks no
// directive, the policy does refuse what it should, and no other page can
// frame the app. The setup is app.test.ts's, the steps its data-testid hooks.
import { type Browser, type BrowserContext, chromium, type Page } from "playwright-core";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { useDevServer } from "../e2e/helpers";

const server = useDevServer({ vars: { PER_IP_LIMITS: "off" } });
const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";

let browser: Browser;
const contexts: BrowserContext[] = [];

beforeAll(async () => {
	browser = await chromium.launch({
		executablePath: CHROMIUM,
		args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-dev-shm-usage"],
	});
});

afterEach(async () => {
	await Promise.all(contexts.splice(0).map((c) => c.close()));
});

afterAll(async () => {
	await browser?.close();
});

/** What a page (and its workers) reported against the policy. */
interface Watch {
	/** securitypolicyviolation events: "directive → blocked URI". */
	violations: string[];
	/** Console messages that are about the policy (Chromium logs each refusal). */
	cspConsole: string[];
	/** Uncaught errors on the page. */
	errors: string[];
}

/**
 * A fresh browser profile whose pages report every securitypolicyviolation
 * event to `watch`. The listener comes from an init script, which Playwright
 * runs itself: it is not an inline script of the page, and the page's policy
 * does not apply to it.
 */
async function watchedPage(): Promise<[Page, Watch]> {
	const watch: Watch = { violations: [], cspConsole: [], errors: [] };
	const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
	contexts.push(context);
	await context.exposeBinding("__reportViolation", (_source, line: string) => {
		watch.violations.push(line);
	});
	await context.addInitScript(() => {
		const report = (window as unknown as { __reportViolation: (line: string) => void }).__reportViolation;
		document.addEventListener("securitypolicyviolation", (e) => {
			report(`${e.effectiveDirective} → ${e.blockedURI || "(inline)"}${e.sample ? ` (${e.sample})` : ""}`);
		});
	});
	const page = await context.newPage();
	page.on("console", (m) => {
		if (/content security policy|refused to/i.test(m.text())) watch.cspConsole.push(`${m.type()}: ${m.text()}`);
	});
	page.on("pageerror", (e) => {
		watch.errors.push(e.message);
	});
	return [page, watch];
}

/** Opens the app, checks its response carries the policy, and answers the age gate as an adult. */
async function openApp(page: Page): Promise<void> {
	const response = await page.goto(server.baseUrl);
	expect(response?.status()).toBe(200);
	const headers = response?.headers() ?? {};
	expect(headers["content-security-policy"]).toContain("default-src 'self'");
	expect(headers["content-security-policy"]).toContain("frame-ancestors 'none'");
	expect(headers["x-frame-options"]).toBe("DENY");
	expect(headers["referrer-policy"]).toBe("no-referrer");
	await waitForScreen(page, "age");
	await page.getByTestId("age-adult").click();
	await waitForScreen(page, "start");
}

async function waitForScreen(page: Page, name: string, timeout = 10_000): Promise<void> {
	await page.locator(`[data-screen="${name}"]`).waitFor({ state: "visible", timeout });
}

async function say(page: Page, text: string): Promise<void> {
	await page.getByTestId("message-input").fill(text);
	await page.getByTestId("send").click();
}

const received = (page: Page) => page.getByTestId("msg-in");

describe("the app under its Content-Security-Policy", () => {
	it("two people match, chat both ways and press Next without a single violation", async () => {
		const [a, watchA] = await watchedPage();
		const [b, watchB] = await watchedPage();
		await openApp(a);
		await openApp(b);
		// The online counter comes from fetch("/api/stats"), under connect-src.
		await expect.poll(async () => /^\d+$/.test((await a.getByTestId("online-count").textContent()) ?? "")).toBe(true);

		// A shared interest (a chip, built with the DOM and no style attribute) matches them at once.
		for (const [page, gender] of [
			[a, "female"],
			[b, "male"],
		] as const) {
			await page.getByTestId("gender").selectOption(gender);
			await page.getByTestId("interests").fill("music");
			await page.getByTestId("interests").press("Enter");
			await page.getByTestId("start").click();
			if (page === a) await waitForScreen(a, "waiting");
		}
		// Both over WebSockets to the page's own host (ws:, matched by connect-src 'self').
		await Promise.all([waitForScreen(a, "chat"), waitForScreen(b, "chat")]);

		await say(a, "hello from a");
		await expect.poll(() => received(b).allTextContents()).toEqual(["hello from a"]);
		// A multi-line message grows the composer through the CSSOM (el.style), which style-src allows.
		await b.getByTestId("message-input").fill("hello\nfrom b");
		await b.getByTestId("send").click();
		await expect.poll(() => received(a).allTextContents()).toEqual(["hello\nfrom b"]);

		await a.getByTestId("next").click();
		await a.getByTestId("next").click();
		await Promise.all([waitForScreen(a, "waiting"), waitForScreen(b, "ended")]);
		await b.getByTestId("next-stranger").click();
		await waitForScreen(b, "waiting");

		// The proof-of-work worker, as challenge.ts starts it (worker-src 'self'), solves a small puzzle.
		const solution = await a.evaluate(
			() =>
				new Promise<string | null>((resolve, reject) => {
					const worker = new Worker("/pow-worker.js", { type: "module" });
					worker.onmessage = (e: MessageEvent<{ solution?: string | null }>) => {
						if ("solution" in e.data) {
							worker.terminate();
							resolve(e.data.solution ?? null);
						}
					};
					worker.onerror = () => reject(new Error("the worker did not load"));
					worker.postMessage({ nonce: "csp-test", difficulty: 4 });
				}),
		);
		expect(solution).toMatch(/^[0-9a-z]+$/);

		for (const watch of [watchA, watchB]) {
			expect(watch.violations).toEqual([]);
			expect(watch.cspConsole).toEqual([]);
			expect(watch.errors).toEqual([]);
		}
	});

	it("refuses what it should: injected inline script, an inline handler, a style attribute, eval; the watch sees each", async () => {
		const [a, watch] = await watchedPage();
		await openApp(a);
		const outcome = await a.evaluate(async () => {
			const w = window as unknown as { scriptRan?: boolean; handlerRan?: boolean };
			const script = document.createElement("script");
			script.textContent = "window.scriptRan = true";
			document.body.append(script);
			const img = document.createElement("img");
			img.setAttribute("onerror", "window.handlerRan = true");
			img.src = "data:,not an image";
			document.body.append(img);
			const div = document.createElement("div");
			div.setAttribute("style", "width: 123px");
			document.body.append(div);
			// Chromium lets code that DevTools evaluates use eval; a task queued from here is the page's own.
			const evalRan = await new Promise<boolean>((resolve) =>
				setTimeout(() => {
					try {
						// biome-ignore lint/security/noGlobalEval: the point is that the policy refuses it
						resolve(eval("true") === true);
					} catch {
						resolve(false);
					}
				}),
			);
			await new Promise((resolve) => img.addEventListener("error", resolve, { once: true }));
			return {
				scriptRan: w.scriptRan === true,
				handlerRan: w.handlerRan === true,
				styled: div.style.width === "123px",
				evalRan,
			};
		});
		expect(outcome).toEqual({ scriptRan: false, handlerRan: false, styled: false, evalRan: false });
		await expect
			.poll(() => watch.violations.map((v) => v.split(" ")[0]).sort())
			.toEqual(["script-src", "script-src-attr", "script-src-elem", "style-src-attr"]);
	});

	it("cannot be framed by another page; a page that allows framing can be", async () => {
		const [page, watch] = await watchedPage();
		const refused = page.waitForEvent("console", {
			predicate: (m) => m.text().includes("frame-ancestors 'none'"),
			timeout: 10_000,
		});
		// An about:blank page (another origin than the app's) frames the app, and the
		// health endpoint, which has no framing policy, for comparison.
		await page.setContent(
			`<iframe name="app" src="${server.baseUrl}/"></iframe><iframe name="health" src="${server.baseUrl}/api/health"></iframe>`,
		);
		await page.waitForLoadState("load");
		expect((await refused).text()).toContain(server.baseUrl);

		const health = page.frame({ name: "health" });
		await expect.poll(() => health?.locator("body").textContent({ timeout: 2_000 })).toBe('{"ok":true}');

		const app = page.frame({ name: "app" });
		expect(app).not.toBeNull();
		// The frame holds Chromium's error page, never the app.
		const appInFrame = await app
			?.locator("[data-testid=start]")
			.count()
			.catch(() => 0);
		expect(appInFrame).toBe(0);
		expect(await app?.title().catch(() => "")).not.toBe("Flamingo Chat");
		expect(watch.errors).toEqual([]);
	});
});
