// What "one address" means for every per-address rule (PROTOCOL.md 1.1): an
// IPv4 address as it is, an IPv6 address by its /64 prefix. Every phone and
// household gets a whole /64, so a rule keyed on the full IPv6 address would
// let one person rotate through 2^64 keys.

const IPV4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;

function ipv4(text: string): string | null {
	const m = IPV4.exec(text);
	if (!m) return null;
	const parts = m.slice(1).map(Number);
	return parts.every((n) => n <= 255) ? parts.join(".") : null;
}

/** The eight 16-bit groups of an IPv6 address, or null if it is not one. */
function ipv6Groups(text: string): number[] | null {
	let head = text;
	let tail: number[] = [];
	// An embedded IPv4 tail (::ffff:192.0.2.1) is two groups.
	const v4 = /:(\d{1,3}(?:\.\d{1,3}){3})$/.exec(head);
	if (v4?.[1]) {
		const four = ipv4(v4[1]);
		if (!four) return null;
		const [a, b, c, d] = four.split(".").map(Number) as [number, number, number, number];
		tail = [(a << 8) | b, (c << 8) | d];
		head = head.slice(0, head.length - v4[1].length);
		if (!head.endsWith("::")) head = head.slice(0, -1);
	}
	const halves = head.split("::");
	if (halves.length > 2) return null;
	const parse = (part: string) => (part === "" ? [] : part.split(":"));
	const left = parse(halves[0] ?? "");
	const right = halves.length === 2 ? parse(halves[1] ?? "") : [];
	const groups: number[] = [];
	for (const g of [...left, ...right]) {
		if (!/^[0-9a-f]{1,4}$/i.test(g)) return null;
		groups.push(Number.parseInt(g, 16));
	}
	const given = groups.length + tail.length;
	if (halves.length === 2 ? given > 7 : given !== 8) return null;
	const zeros = new Array<number>(8 - given).fill(0);
	return [...groups.slice(0, left.length), ...zeros, ...groups.slice(left.length), ...tail];
}

/**
 * The key per-address rules count by: `192.0.2.1` stays as it is,
 * `2001:db8:1:2:aaaa::1` becomes `2001:db8:1:2::/64`, an IPv4-mapped IPv6
 * address is its IPv4 address. Null when there is no address (a request that
 * did not come through Cloudflare's edge or `wrangler dev`).
 */
export function addressKey(connectingIp: string | null | undefined): string | null {
	const text =
		connectingIp
			?.trim()
			.toLowerCase()
			.replace(/^\[|\]$/g, "")
			.replace(/%.*$/, "") ?? "";
	if (text === "") return null;
	const four = ipv4(text);
	if (four) return four;
	const groups = ipv6Groups(text);
	if (!groups) return text;
	if (groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff) {
		const [hi = 0, lo = 0] = groups.slice(6);
		return [hi >> 8, hi & 255, lo >> 8, lo & 255].join(".");
	}
	return `${groups
		.slice(0, 4)
		.map((g) => g.toString(16))
		.join(":")}::/64`;
}
