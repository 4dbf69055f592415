// Web Storage that may be missing, blocked by privacy settings or full: every
// read falls back to null and every write is best effort, because the app
// must work without it (it then only remembers less across a reload).

/** The part of the Web Storage API the client uses; injectable for tests and Node. */
export interface KeyValueStorage {
	getItem(key: string): string | null;
	setItem(key: string, value: string): void;
	removeItem(key: string): void;
}

/** The browser's store of that kind, or null where there is none or reading it throws. */
export function webStorage(kind: "localStorage" | "sessionStorage"): KeyValueStorage | null {
	try {
		return (globalThis as unknown as Record<string, KeyValueStorage | undefined>)[kind] ?? null;
	} catch {
		return null;
	}
}

export function readText(store: KeyValueStorage | null, key: string): string | null {
	try {
		return store?.getItem(key) ?? null;
	} catch {
		return null;
	}
}

/** The parsed value, or null (absent, unreadable or not JSON): callers check its shape. */
export function readJson(store: KeyValueStorage | null, key: string): unknown {
	const text = readText(store, key);
	try {
		return text ? JSON.parse(text) : null;
	} catch {
		return null;
	}
}

export function writeText(store: KeyValueStorage | null, key: string, value: string): void {
	try {
		store?.setItem(key, value);
	} catch {
		// full or blocked: nothing is remembered, nothing breaks
	}
}

export function writeJson(store: KeyValueStorage | null, key: string, value: unknown): void {
	writeText(store, key, JSON.stringify(value));
}

export function removeKey(store: KeyValueStorage | null, key: string): void {
	try {
		store?.removeItem(key);
	} catch {
		// as above
	}
}
