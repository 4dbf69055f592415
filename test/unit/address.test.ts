import { describe, expect, it } from "vitest";
import { addressKey } from "../../src/domain/limits/address";

describe("addressKey: IPv4 as it is, IPv6 by its /64", () => {
	it.each([
		["192.0.2.1", "192.0.2.1"],
		[" 198.51.100.7 ", "198.51.100.7"],
		["2001:db8:1:2:aaaa:bbbb:cccc:dddd", "2001:db8:1:2::/64"],
		["2001:0DB8:0001:0002:0000:0000:0000:0001", "2001:db8:1:2::/64"],
		["2001:db8:1:2::1", "2001:db8:1:2::/64"],
		["2001:db8::1", "2001:db8:0:0::/64"],
		["[2001:db8:1:2::ff]", "2001:db8:1:2::/64"],
		["fe80::1%eth0", "fe80:0:0:0::/64"],
		["::1", "0:0:0:0::/64"],
		["::ffff:192.0.2.1", "192.0.2.1"],
		["::ffff:c000:201", "192.0.2.1"],
	])("%s counts as %s", (ip, key) => {
		expect(addressKey(ip)).toBe(key);
	});

	it("every address of one /64 is one key; the next /64 is another", () => {
		const keys = new Set(
			Array.from({ length: 50 }, (_, i) => addressKey(`2001:db8:aa:bb:${i.toString(16)}:${(i * 7).toString(16)}::9`)),
		);
		expect([...keys]).toEqual(["2001:db8:aa:bb::/64"]);
		expect(addressKey("2001:db8:aa:bc::9")).not.toBe("2001:db8:aa:bb::/64");
	});

	it("no address is null; something that is not an address is kept as it came", () => {
		expect(addressKey(null)).toBeNull();
		expect(addressKey(undefined)).toBeNull();
		expect(addressKey("  ")).toBeNull();
		expect(addressKey("unknown")).toBe("unknown");
		expect(addressKey("1:2:3")).toBe("1:2:3");
		expect(addressKey("300.1.1.1")).toBe("300.1.1.1");
	});
});
