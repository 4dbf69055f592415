// Browser Origin check for socket upgrades (PROTOCOL.md, Security). A page on
// another site must not open sockets in its visitors' names; clients that are
// not browsers send no Origin and are let through.

const LOCAL = /^http:\/\/(localhost|127\.0\.0\.1)(:\d{1,5})?$/;
/** Hostnames (as `URL.hostname` spells them) of a server reached on this machine. */
const LOOPBACK_HOSTS: ReadonlySet<string> = new Set(["localhost", "127.0.0.1", "[::1]"]);

export function parseAllowList(value: string | undefined): Set<string> {
	return new Set(
		(value ?? "")
			.split(",")
			.map((s) => s.trim().replace(/\/+$/, ""))
			.filter((s) => s.length > 0),
	);
}

/**
 * Whether a request with this Origin may open a socket on `requestUrl`'s host.
 * `http://localhost[:port]` and `http://127.0.0.1[:port]` pages pass only when the
 * server itself was reached on loopback (local development): on a deployed host
 * any local page (whatever runs on the visitor's machine) is a foreign site.
 */
export function originAllowed(origin: string | null, requestUrl: URL, allowList: ReadonlySet<string>): boolean {
	if (origin === null) return true;
	const own = `${requestUrl.protocol}//${requestUrl.host}`;
	if (origin === own || allowList.has(origin)) return true;
	return LOOPBACK_HOSTS.has(requestUrl.hostname) && LOCAL.test(origin);
}
