// Where the sockets of PROTOCOL.md live, for the server that hands out
// absolute `chat_url`s and the client that opens them.

/** The `ws:`/`wss:` origin on the same host as an `http:`/`https:` URL. */
export function wsOrigin(url: URL): string {
	return `${url.protocol === "https:" ? "wss:" : "ws:"}//${url.host}`;
}
