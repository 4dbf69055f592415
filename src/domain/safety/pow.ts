// Proof of work for the abuse challenge: find `solution` such that
// SHA-256(UTF-8 of `${nonce}:${solution}`) begins with `difficulty` zero bits.
// Costs an honest person about a second, rarely; costs a bot that second again
// every dozen chats (its counters start over once it solved), and every chat
// from an address that starts too many. No third party, nothing tracked.

const encoder = new TextEncoder();

export function leadingZeroBits(bytes: Uint8Array): number {
	let bits = 0;
	for (const b of bytes) {
		if (b === 0) {
			bits += 8;
			continue;
		}
		return bits + Math.clz32(b) - 24;
	}
	return bits;
}

export async function checkSolution(nonce: string, solution: string, difficulty: number): Promise<boolean> {
	const digest = await crypto.subtle.digest("SHA-256", encoder.encode(`${nonce}:${solution}`));
	return leadingZeroBits(new Uint8Array(digest)) >= difficulty;
}

/** Finds a solution by counting up; `onProgress` hears every 4096 tries. For clients and tests. */
export async function solve(
	nonce: string,
	difficulty: number,
	onProgress?: (tries: number) => void,
	maxTries = 2 ** 30,
): Promise<string | null> {
	for (let i = 0; i < maxTries; i++) {
		const solution = i.toString(36);
		if (await checkSolution(nonce, solution, difficulty)) return solution;
		if (onProgress && i % 4096 === 4095) onProgress(i + 1);
	}
	return null;
}
