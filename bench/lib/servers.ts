// Starts and stops the servers under test, each in its own process group,
// pinned to core 0 with taskset, listening on 127.0.0.1 only:
// - ours:    the real `npm run dev` (wrangler dev), as test/e2e/dev-server.ts starts it;
// - bare-do: `npm exec -- wrangler dev --config bench/baselines/bare-do/wrangler.toml`;
// - node-ws: `node bench/baselines/node-ws/server.ts`.
// Stopping kills exactly the group that was started (SIGTERM, then SIGKILL).
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import {
	freePort,
	healthProblem,
	runningGroups,
	type ServerGroup,
	spawnServer,
	waitHealthy,
} from "../../test/e2e/process-group.ts";
import { cmdline, descendants, groupCpuSeconds, listeningPorts, rssKiB } from "./cpu.ts";

export const ROOT = fileURLToPath(new URL("../..", import.meta.url));

export type ServerKind = "ours" | "bare-do" | "node-ws";

export interface BenchServer {
	readonly kind: ServerKind;
	readonly port: number;
	/** ws://127.0.0.1:PORT: what `npm run dev` serves (wrangler's proxy in front of the runtime). */
	readonly wsUrl: string;
	/** ws:// of the runtime's own entry socket, skipping wrangler's proxy (the same as wsUrl for node-ws). */
	readonly directWsUrl: string;
	/** The lobby socket's path: `/ws` (ours, node-ws) or `/lobby` (bare-do). */
	readonly lobbyPath: string;
	/** The process running the server's code: the runtime workerd, or node for node-ws. */
	readonly runtimePid: number;
	/** wrangler's proxy workerd, if any. */
	readonly proxyPid: number | null;
	/** The inspector port (wrangler dev's `--inspector-port`), if any. */
	readonly inspectorPort: number | null;
	readonly pgid: number;
	/** CPU seconds of the whole process group so far. */
	cpuSeconds(): number;
	/** VmRSS of the runtime process, KiB. */
	runtimeRssKiB(): number;
	output(): string;
	/**
	 * Calls `listener` with every whole line the server prints from now on
	 * (stdout and stderr) until the returned function is called; output()
	 * keeps only the last 64 KiB, which a busy `wrangler dev` fills in seconds.
	 */
	onLine(listener: (line: string) => void): () => void;
	/** False (and re-resolves the pids and the direct URL) when the runtime or proxy process is gone: wrangler restarted it. */
	check(): Promise<boolean>;
	/** How often check() found the runtime replaced. */
	runtimeChanges(): number;
	/** How often wrangler reloaded the Worker since it was ready (every socket drops then). */
	restarts(): number;
	stop(): Promise<void>;
}

/** CPU seconds of every server group this process started and has not stopped. */
export function allServersCpuSeconds(): number {
	let total = 0;
	for (const pgid of runningGroups()) total += groupCpuSeconds(pgid);
	return total;
}

export interface StartOptions {
	/** Pin the server's group to this CPU list (taskset -c), or null not to pin. */
	cpus: string | null;
	startTimeoutMs?: number;
	/** Where the persistence directory is made (default: the OS temp dir). */
	persistBase?: string;
	/** Extra `--var NAME:VALUE` for ours. */
	vars?: Record<string, string>;
}

export async function startServer(kind: ServerKind, options: StartOptions): Promise<BenchServer> {
	const port = await freePort();
	const inspectorPort = kind === "node-ws" ? null : await freePort();
	const persistTo =
		kind === "node-ws" ? null : await mkdtemp(join(options.persistBase ?? tmpdir(), `flamingo-bench-${kind}-`));
	let command: string[];
	if (kind === "ours") {
		command = ["npm", "run", "dev", "--", ...wranglerArgs(port, persistTo as string, inspectorPort as number)];
		for (const [name, value] of Object.entries(options.vars ?? {})) command.push("--var", `${name}:${value}`);
	} else if (kind === "bare-do") {
		command = [
			"npm",
			"exec",
			"--",
			"wrangler",
			"dev",
			"--config",
			"bench/baselines/bare-do/wrangler.toml",
			...wranglerArgs(port, persistTo as string, inspectorPort as number),
		];
	} else {
		command = [
			process.execPath,
			"--experimental-strip-types",
			"bench/baselines/node-ws/server.ts",
			"--port",
			String(port),
		];
	}
	if (options.cpus !== null) command = ["taskset", "-c", options.cpus, ...command];

	let server: ServerGroup;
	try {
		server = spawnServer(command, ROOT);
	} catch (err) {
		if (persistTo) await rm(persistTo, { recursive: true, force: true });
		throw err;
	}
	const { output, pgid } = server;
	const lineListeners = new Set<(line: string) => void>();
	for (const stream of [server.child.stdout, server.child.stderr]) {
		let partial = "";
		stream?.on("data", (chunk: Buffer) => {
			if (lineListeners.size === 0) {
				partial = "";
				return;
			}
			const lines = (partial + chunk.toString("utf8")).split("\n");
			partial = lines.pop() ?? "";
			for (const line of lines) for (const listener of lineListeners) listener(line);
		});
	}
	const stop = async (): Promise<void> => {
		await server.stop();
		if (persistTo) await rm(persistTo, { recursive: true, force: true });
	};

	const fail = async (why: string): Promise<never> => {
		await stop();
		throw new Error(`${kind}: \`${command.join(" ")}\` ${why}; output:\n${output().slice(-4000)}`);
	};

	const problem = await waitHealthy(
		`http://127.0.0.1:${port}/api/health`,
		server.child,
		options.startTimeoutMs ?? 90_000,
	);
	if (problem) return fail(problem);

	// The runtime: for wrangler, the workerd descendant that is not the proxy
	// (the proxy's entry socket is the port we asked for).
	let runtimePid = pgid;
	let proxyPid: number | null = null;
	let directWsUrl = `ws://127.0.0.1:${port}`;
	let changes = 0;
	const resolve = async (): Promise<string | null> => {
		if (kind === "node-ws") {
			runtimePid = descendants(pgid).find((p) => p.comm === "node")?.pid ?? pgid;
			return null;
		}
		const workerds = descendants(pgid).filter((p) => p.comm === "workerd");
		const isProxy = (pid: number) => cmdline(pid).some((a) => a.includes(`entry=127.0.0.1:${port}`));
		proxyPid = workerds.find((p) => isProxy(p.pid))?.pid ?? null;
		const runtime = workerds.find((p) => !isProxy(p.pid));
		if (!runtime) return "has no runtime workerd among its descendants";
		runtimePid = runtime.pid;
		for (const p of listeningPorts(runtimePid)) {
			if ((await healthProblem(`http://127.0.0.1:${p}/api/health`)) === null) {
				directWsUrl = `ws://127.0.0.1:${p}`;
				return null;
			}
		}
		return "has no runtime entry socket answering /api/health";
	};
	const unresolved = await resolve();
	if (unresolved) return fail(unresolved);

	const reloads = () => output().split("Reloading local server").length - 1;
	const reloadsAtStart = reloads();
	return {
		kind,
		port,
		wsUrl: `ws://127.0.0.1:${port}`,
		get directWsUrl() {
			return directWsUrl;
		},
		lobbyPath: kind === "bare-do" ? "/lobby" : "/ws",
		get runtimePid() {
			return runtimePid;
		},
		get proxyPid() {
			return proxyPid;
		},
		inspectorPort,
		pgid,
		cpuSeconds: () => groupCpuSeconds(pgid),
		runtimeRssKiB: () => rssKiB(runtimePid),
		async check() {
			const before = `${runtimePid} ${proxyPid} ${directWsUrl}`;
			if (existsSync(`/proc/${runtimePid}`) && (proxyPid === null || existsSync(`/proc/${proxyPid}`))) return true;
			await resolve();
			changes++;
			return before === `${runtimePid} ${proxyPid} ${directWsUrl}`;
		},
		runtimeChanges: () => changes,
		output,
		onLine(listener) {
			lineListeners.add(listener);
			return () => {
				lineListeners.delete(listener);
			};
		},
		restarts: () => reloads() - reloadsAtStart,
		stop,
	};
}

function wranglerArgs(port: number, persistTo: string, inspectorPort: number): string[] {
	return [
		"--port",
		String(port),
		"--ip",
		"127.0.0.1",
		"--persist-to",
		persistTo,
		"--inspector-port",
		String(inspectorPort),
	];
}

/** Pins this process (all its threads) to `cpus`; returns false if taskset failed. */
export async function pinSelf(cpus: string): Promise<boolean> {
	const child = spawn("taskset", ["-a", "-p", "-c", cpus, String(process.pid)], { stdio: "ignore" });
	const code = await new Promise<number | null>((resolve) => child.once("exit", resolve));
	return code === 0;
}
