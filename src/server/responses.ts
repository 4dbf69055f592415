// Plain HTTP answers of the Worker, each with a short human-readable body,
// and the hardening headers its read-only answers carry.

/**
 * On every answer read with GET or HEAD (the API's JSON and the app's files):
 * nosniff, so a body is never taken for another type than it says (a JSON
 * answer run as script, say); no-referrer, so nothing that links or loads
 * from here learns a page's address.
 */
export const READ_HEADERS = {
	"X-Content-Type-Options": "nosniff",
	"Referrer-Policy": "no-referrer",
} as const;

/**
 * The browser app's Content-Security-Policy: scripts, styles, fonts, workers
 * and connections (fetch and WebSocket; in CSP3 'self' also matches ws:/wss:
 * to the same host) from this origin only, images also as data: URLs (the
 * favicon is one). No 'unsafe-inline' and no 'unsafe-eval': the app has no
 * inline script, style attribute or eval, so a string that got into the page
 * (a message rendered as HTML by some future mistake) cannot run or restyle
 * it. Nothing may be embedded (object-src), no <base> may redirect relative
 * URLs, no form is ever submitted natively (each submit is handled in script),
 * and no other site may frame the app.
 */
export const APP_CSP = [
	"default-src 'self'",
	"script-src 'self'",
	"style-src 'self'",
	"img-src 'self' data:",
	"connect-src 'self'",
	"worker-src 'self'",
	"font-src 'self'",
	"object-src 'none'",
	"base-uri 'none'",
	"form-action 'none'",
	"frame-ancestors 'none'",
].join("; ");

/**
 * On every answer of the app's route (200, 304 and 404). Framing is refused
 * twice (frame-ancestors, and X-Frame-Options for browsers without CSP
 * level 2) so that no other site can lay the app under its own page and
 * trick someone into clicking Start, Next or Report (clickjacking). The
 * opener policy puts the app in its own browsing context group, out of reach
 * of a window that opened it.
 */
export const APP_HEADERS = {
	...READ_HEADERS,
	"Content-Security-Policy": APP_CSP,
	"X-Frame-Options": "DENY",
	"Cross-Origin-Opener-Policy": "same-origin",
} as const;

export function upgradeRequired(): Response {
	return new Response("Upgrade Required: this endpoint only speaks WebSocket\n", {
		status: 426,
		headers: { Upgrade: "websocket", "Content-Type": "text/plain; charset=utf-8" },
	});
}

export function forbiddenOrigin(origin: string): Response {
	return new Response(`Forbidden: origin ${origin} may not open sockets here\n`, {
		status: 403,
		headers: { "Content-Type": "text/plain; charset=utf-8" },
	});
}

export function tooManyUpgrades(retryAfterSeconds: number): Response {
	return new Response("Too Many Requests: too many connections from your address; retry shortly\n", {
		status: 429,
		headers: { "Retry-After": String(retryAfterSeconds), "Content-Type": "text/plain; charset=utf-8" },
	});
}

/** 404, with `headers` besides its type. */
export function notFound(headers: Record<string, string> = {}): Response {
	return new Response("Not Found\n", {
		status: 404,
		headers: { ...headers, "Content-Type": "text/plain; charset=utf-8" },
	});
}

export function methodNotAllowed(allow: string): Response {
	return new Response("Method Not Allowed\n", {
		status: 405,
		headers: { Allow: allow, "Content-Type": "text/plain; charset=utf-8" },
	});
}

/** A read-only resource's answer to any method but GET and HEAD; null for those two. */
export function refuseUnlessRead(request: Request): Response | null {
	return request.method === "GET" || request.method === "HEAD" ? null : methodNotAllowed("GET, HEAD");
}

/**
 * `response` as the answer to `request`, with READ_HEADERS added: for HEAD the
 * same status and headers, no body. A copy, as a cached response's headers
 * cannot be changed.
 */
export function forMethod(request: Request, response: Response): Response {
	const answer = new Response(request.method === "HEAD" ? null : response.body, response);
	for (const [name, value] of Object.entries(READ_HEADERS)) answer.headers.set(name, value);
	return answer;
}
