// Servers started as their own process group (npm → wrangler → workerd), and
// stopped as a whole: shared by the e2e and reliability harness
// (dev-server.ts), the soak (and its fault proxy: listenOnLoopback) and the
// benchmark (bench/lib/servers.ts). Only groups started here are ever
// signalled, and any still running when this process exits are killed.
import { type ChildProcess, spawn } from "node:child_process";
import { createServer, type Server } from "node:net";

/** Makes `server` listen on a port of 127.0.0.1 the system picks, and resolves with that port. */
export function listenOnLoopback(server: Server): Promise<number> {
	return new Promise((resolve, reject) => {
		server.once("error", reject);
		server.listen(0, "127.0.0.1", () => {
			const address = server.address();
			if (address === null || typeof address === "string") {
				server.close();
				reject(new Error("could not read the bound port"));
				return;
			}
			resolve(address.port);
		});
	});
}

/** A port that was free on 127.0.0.1 a moment ago: bind port 0, read it, release it. */
export async function freePort(): Promise<number> {
	const server = createServer();
	server.unref();
	const port = await listenOnLoopback(server);
	await new Promise<void>((resolve, reject) => server.close((err) => (err ? reject(err) : resolve())));
	return port;
}

export const delay = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Process groups started here and not yet stopped, killed if this process exits early. */
const running = new Set<number>();
process.once("exit", () => {
	for (const pgid of running) {
		try {
			process.kill(-pgid, "SIGKILL");
		} catch {
			// already gone
		}
	}
});

/** The groups started here and not stopped yet. */
export function runningGroups(): ReadonlySet<number> {
	return running;
}

function killGroup(pgid: number, signal: NodeJS.Signals): void {
	try {
		process.kill(-pgid, signal);
	} catch (err) {
		// ESRCH: the whole group is gone already.
		if ((err as NodeJS.ErrnoException).code !== "ESRCH") throw err;
	}
}

function groupAlive(pgid: number): boolean {
	try {
		process.kill(-pgid, 0);
		return true;
	} catch {
		return false;
	}
}

/** Resolves when the child has exited (or at once if it already has). */
function exited(child: ChildProcess): Promise<void> {
	if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
	return new Promise((resolve) => child.once("exit", () => resolve()));
}

/**
 * Takes charge of a child spawned with `detached: true` (so its pid is its
 * group's id). `stop()` sends the group SIGTERM, then SIGKILL after 10 s,
 * and resolves once the child and the whole group (wrangler and workerd too)
 * are gone; calling it again returns the same promise.
 */
export function ownGroup(child: ChildProcess): { pgid: number; stop: () => Promise<void> } {
	const pgid = child.pid;
	if (pgid === undefined) throw new Error("the child has no pid (spawn failed)");
	running.add(pgid);
	const done = exited(child);
	let stopping: Promise<void> | undefined;
	const stop = (): Promise<void> => {
		stopping ??= (async () => {
			killGroup(pgid, "SIGTERM");
			const deadline = Date.now() + 10_000;
			while (groupAlive(pgid) && Date.now() < deadline) await delay(100);
			if (groupAlive(pgid)) killGroup(pgid, "SIGKILL");
			await done;
			const hardDeadline = Date.now() + 5_000;
			while (groupAlive(pgid) && Date.now() < hardDeadline) await delay(100);
			running.delete(pgid);
		})();
		return stopping;
	};
	return { pgid, stop };
}

/** Keep at most this much of a server's output, for error messages. */
const MAX_OUTPUT_CHARS = 64 * 1024;

export interface ServerGroup {
	readonly child: ChildProcess;
	readonly pgid: number;
	/** What the server printed so far (stdout and stderr, interleaved, truncated at the front). */
	output(): string;
	/** See ownGroup. */
	stop(): Promise<void>;
}

/**
 * Spawns a server in its own process group (so that stopping it reaches
 * wrangler and workerd too), its output captured, and wrangler kept offline
 * and quiet: no `cf` lookup, no metrics, no colours, no prompts.
 */
export function spawnServer(command: readonly string[], cwd: string): ServerGroup {
	const [file, ...args] = command;
	if (file === undefined) throw new Error("no command to spawn");
	let output = "";
	const capture = (chunk: Buffer) => {
		output += chunk.toString("utf8");
		if (output.length > MAX_OUTPUT_CHARS) output = output.slice(-MAX_OUTPUT_CHARS);
	};
	const child = spawn(file, args, {
		cwd,
		detached: true,
		stdio: ["ignore", "pipe", "pipe"],
		env: {
			...process.env,
			CLOUDFLARE_CF_FETCH_ENABLED: "false",
			CI: "true",
			WRANGLER_SEND_METRICS: "false",
			NO_COLOR: "1",
		},
	});
	child.stdout?.on("data", capture);
	child.stderr?.on("data", capture);
	// A failed spawn (no such program) is also emitted as an event, which
	// would crash this process if nobody listened: it is answered below.
	child.on("error", (err) => capture(Buffer.from(`${err}\n`)));
	if (child.pid === undefined) throw new Error(`could not spawn \`${command.join(" ")}\``);
	const { pgid, stop } = ownGroup(child);
	return { child, pgid, output: () => output, stop };
}

/** Null when `url` (a health endpoint) answers 200 with `{"ok":true}` now; else what it did instead. */
export async function healthProblem(url: string): Promise<string | null> {
	try {
		const res = await fetch(url, { signal: AbortSignal.timeout(2_000) });
		const body = await res.text();
		if (res.status === 200 && body.includes('"ok":true')) return null;
		return `GET ${new URL(url).pathname} answered ${res.status}`;
	} catch (err) {
		return String((err as Error).cause ?? err);
	}
}

/**
 * Polls `url` (a health endpoint) until it is healthy (healthProblem).
 * Resolves with null then, or with why it did not: the server exited, or
 * `timeoutMs` passed (with the last answer or error).
 */
export async function waitHealthy(url: string, child: ChildProcess, timeoutMs: number): Promise<string | null> {
	const deadline = Date.now() + timeoutMs;
	for (;;) {
		if (child.exitCode !== null || child.signalCode !== null) {
			return `exited (${child.exitCode ?? child.signalCode}) before it was healthy`;
		}
		const problem = await healthProblem(url);
		if (problem === null) return null;
		if (Date.now() >= deadline) return `was not healthy within ${timeoutMs} ms (${problem})`;
		await delay(200);
	}
}
