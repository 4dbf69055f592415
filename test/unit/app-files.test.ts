// The embedded app's HTTP answers, on a fixture instead of the built app.
import { describe, expect, it } from "vitest";
import { type AppFiles, matchesEtag, serveAppFile } from "../../src/server/app-files";

const FILES: AppFiles = {
	"/index.html": { type: "text/html; charset=utf-8", etag: '"aaa"', body: "<p>home</p>" },
	"/a.js": { type: "text/javascript; charset=utf-8", etag: '"bbb"', body: "1" },
};
const get = (path: string, init?: RequestInit) => serveAppFile(FILES, new Request(`http://h${path}`, init));

describe("matchesEtag", () => {
	it.each([
		['"aaa"', true],
		['W/"aaa"', true],
		['"zzz", "aaa"', true],
		["*", true],
		['"aa"', false],
		['"zzz"', false],
		["", false],
	])("If-None-Match %s → %s", (header, expected) => {
		expect(matchesEtag(header, '"aaa"')).toBe(expected);
	});

	it("no header never matches", () => {
		expect(matchesEtag(null, '"aaa"')).toBe(false);
	});
});

describe("serveAppFile", () => {
	it("/ is index.html", async () => {
		const res = get("/");
		expect(res.status).toBe(200);
		expect(res.headers.get("Content-Type")).toBe("text/html; charset=utf-8");
		expect(res.headers.get("ETag")).toBe('"aaa"');
		expect(await res.text()).toBe("<p>home</p>");
	});

	it("a path not in the app, or only on Object.prototype, is 404", () => {
		for (const path of ["/b.js", "/toString", "/hasOwnProperty", "/a.js/"]) expect(get(path).status, path).toBe(404);
	});

	it("a matching ETag is 304 with the ETag and no type", async () => {
		const res = get("/a.js", { headers: { "If-None-Match": '"bbb"' } });
		expect(res.status).toBe(304);
		expect(res.headers.get("ETag")).toBe('"bbb"');
		expect(res.headers.get("Content-Type")).toBeNull();
	});

	it("PUT on a file is 405 naming GET and HEAD", () => {
		const res = get("/a.js", { method: "PUT", body: "x" });
		expect(res.status).toBe(405);
		expect(res.headers.get("Allow")).toBe("GET, HEAD");
	});
});
