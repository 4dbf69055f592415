// Browser Origin check for socket upgrades (PROTOCOL.md, Security). A page on
// another site must not open sockets in its visitors' names; clients that are
// not browsers send no Origin and are let through.

const LOCAL = /^http:\/\/(localhost|127\.0\.0\.1)(:\d{1,5})?$/;

export function parseAllowList(value: string | undefined): Set<string> {
	return new Set(
		(value ?? "")
			.split(",")
			.map((s) => s.trim().replace(/\/+$/, ""))
			.filter((s) => s.length > 0),
	);
}

/** Whether a request with this Origin may open a socket on `requestUrl`'s host. */
export function originAllowed(origin: string | null, requestUrl: URL, allowList: ReadonlySet<string>): boolean {
	if (origin === null) return true;
	const own = `${requestUrl.protocol}//${requestUrl.host}`;
	return origin === own || LOCAL.test(origin) || allowList.has(origin);
}
