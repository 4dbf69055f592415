// Plain HTTP answers of the Worker, each with a short human-readable body.

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

export function notFound(): Response {
	return new Response("Not Found\n", { status: 404, headers: { "Content-Type": "text/plain; charset=utf-8" } });
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

/** `response` as the answer to `request`: for HEAD the same status and headers, no body. */
export function forMethod(request: Request, response: Response): Response {
	return request.method === "HEAD" ? new Response(null, response) : response;
}
