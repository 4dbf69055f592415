// Starts the real `npm run dev` (wrangler dev) on a free loopback port, with
// its own persistence directory, and stops exactly the process group it started.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { freePort, type ServerGroup, spawnServer, waitHealthy } from "./process-group.ts";

export { freePort };

/** The repository root: this file lives in test/e2e. */
const ROOT = fileURLToPath(new URL("../..", import.meta.url));

export interface DevServerOptions {
	/** `--var NAME:VALUE` for each entry; an empty value is passed as `NAME:`. */
	vars?: Record<string, string>;
	/** How long the server may take to answer `GET /api/health` with 200. */
	startTimeoutMs?: number;
	/** Listen on this port (default: a free one). A restart passes the port it had. */
	port?: number;
	/**
	 * Keep Durable Object state in this directory, which the caller owns: it
	 * is not deleted on stop, so a server started again with it finds the
	 * state (default: a fresh temporary directory, deleted on stop).
	 */
	persistTo?: string;
}

export interface DevServer {
	/** http://127.0.0.1:PORT */
	readonly baseUrl: string;
	/** ws://127.0.0.1:PORT */
	readonly wsUrl: string;
	/** 127.0.0.1:PORT, what `chat_url`s must point at. */
	readonly host: string;
	readonly port: number;
	/** What the server printed so far (stdout and stderr, interleaved, truncated at the front). */
	output(): string;
	/**
	 * How often wrangler reloaded the Worker since it was ready (it watches the
	 * sources; a reload drops every socket with 1006 and all in-memory state).
	 */
	reloads(): number;
	/** Stops the server's process group (SIGTERM, then SIGKILL) and waits for it to exit. */
	stop(): Promise<void>;
}

export async function startDevServer(options: DevServerOptions = {}): Promise<DevServer> {
	const port = options.port ?? (await freePort());
	const ownsPersistDir = options.persistTo === undefined;
	const persistTo = options.persistTo ?? (await mkdtemp(join(tmpdir(), "flamingo-e2e-")));
	const removePersistDir = () => (ownsPersistDir ? rm(persistTo, { recursive: true, force: true }) : Promise.resolve());
	const args = ["run", "dev", "--", "--port", String(port), "--ip", "127.0.0.1", "--persist-to", persistTo];
	for (const [name, value] of Object.entries(options.vars ?? {})) args.push("--var", `${name}:${value}`);

	let server: ServerGroup;
	try {
		server = spawnServer(["npm", ...args], ROOT);
	} catch (err) {
		await removePersistDir();
		throw err;
	}
	const { output } = server;
	const baseUrl = `http://127.0.0.1:${port}`;
	const stop = async (): Promise<void> => {
		await server.stop();
		await removePersistDir();
	};

	const startTimeoutMs = options.startTimeoutMs ?? 90_000;
	const problem = await waitHealthy(`${baseUrl}/api/health`, server.child, startTimeoutMs);
	if (problem) {
		await stop();
		throw new Error(`\`npm ${args.join(" ")}\` ${problem}; output:\n${output()}`);
	}

	const reloads = () => output().split("Reloading local server").length - 1;
	const reloadsAtStart = reloads();
	return {
		baseUrl,
		wsUrl: `ws://127.0.0.1:${port}`,
		host: `127.0.0.1:${port}`,
		port,
		output,
		reloads: () => reloads() - reloadsAtStart,
		stop,
	};
}
