// Serves the browser app that the build embeds in the Worker
// (scripts/build-client.mjs writes dist/app-files.ts; it says why the app is
// not a static-assets folder). Revalidated on every load, as Workers static
// assets would: the file names carry no hash, so an ETag makes a reload after
// a deploy cheap and never stale. Every answer carries APP_HEADERS (the
// Content-Security-Policy and the rest; responses.ts says why).
import { APP_HEADERS, forMethod, notFound, refuseUnlessRead } from "./responses";

/** One file of the app, as the build embeds it. */
export interface AppFile {
	readonly type: string;
	readonly etag: string;
	readonly body: string;
}

/** URL path (`/app.js`) → file. */
export type AppFiles = Readonly<Record<string, AppFile>>;

const CACHE_CONTROL = "public, max-age=0, must-revalidate";

/** Whether an `If-None-Match` header names `etag` (weak or strong, or `*`). */
export function matchesEtag(ifNoneMatch: string | null, etag: string): boolean {
	if (!ifNoneMatch) return false;
	return ifNoneMatch.split(",").some((tag) => {
		const t = tag.trim();
		return t === "*" || t === etag || t === `W/${etag}`;
	});
}

/** The answer to `request` from `files`: the file, 304, 404 or 405. */
export function serveAppFile(files: AppFiles, request: Request): Response {
	const { pathname } = new URL(request.url);
	const path = pathname === "/" ? "/index.html" : pathname;
	// hasOwn: a path such as /constructor must not find Object.prototype's.
	const file = Object.hasOwn(files, path) ? files[path] : undefined;
	if (!file) return notFound(APP_HEADERS);
	const refused = refuseUnlessRead(request);
	if (refused) return refused;
	const headers = { ...APP_HEADERS, ETag: file.etag, "Cache-Control": CACHE_CONTROL };
	if (matchesEtag(request.headers.get("If-None-Match"), file.etag)) return new Response(null, { status: 304, headers });
	return forMethod(request, new Response(file.body, { headers: { ...headers, "Content-Type": file.type } }));
}
