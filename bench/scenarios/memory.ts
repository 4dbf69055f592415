// Scenario 5, memory: resident memory of the process running the server's
// code (the runtime workerd; node for node-ws) before S idle lobby sockets are
// opened, right after, and after the object had time to hibernate (no frame
// at all, not even pings: the object is evicted after about 10 s without
// events). For the two workerd servers also the heap of the Worker's isolate
// (V8's and the embedder's, through the inspector, after a full GC): the part
// of the memory that is the objects' own, and the part an isolate's 128 MB
// limit counts, where RSS also holds the runtime's per-connection buffers. Ours: each user sent `init` and `join_queue` (male looking for
// female, so nobody matches) and waits. The baselines pair anyone FIFO, so
// their users only sent `init`.
import { closeAll, openLobby, pool, type Sock } from "../lib/client.ts";
import { Inspector } from "../lib/inspector.ts";
import { sleep } from "../lib/poisson.ts";
import type { BenchServer } from "../lib/servers.ts";
import type { Log } from "./common.ts";

export interface MemoryOptions {
	sockets: number;
	/** How long to watch for hibernation after the last socket opened. */
	hibernateWaitS: number;
	direct: boolean;
}

export interface MemoryResult {
	sockets: number;
	waitingUsers: boolean;
	rssBeforeKiB: number;
	rssAfterOpenKiB: number;
	rssAfterIdleKiB: number;
	/** RSS samples (KiB) every second while idle. */
	idleSeries: number[];
	kibPerUserAwake: number;
	kibPerUserIdle: number;
	/**
	 * Heap of the Worker's isolate after a full GC (workerd servers only):
	 * after the idle wait with the object woken by one frame, and again once
	 * every socket was closed. Taken after the RSS readings, since a heap
	 * snapshot grows RSS.
	 */
	heapAfterKiB: number | null;
	heapAfterCloseKiB: number | null;
	heapKibPerUser: number | null;
	errors: number;
}

const WORKER_NAMES: Record<string, string> = { ours: "flamingo-chat", "bare-do": "flamingo-bare-do" };

/** The isolate's JS heap in KiB after a GC, or null where there is no inspector (node-ws) or it failed. */
async function heapKiB(server: BenchServer, log: Log): Promise<number | null> {
	if (server.inspectorPort === null) return null;
	let inspector: Inspector | null = null;
	try {
		inspector = await Inspector.attach(server.inspectorPort, WORKER_NAMES[server.kind]);
		return Math.round((await inspector.heapUsedAfterGc()) / 1024);
	} catch (err) {
		log(`  ${server.kind}: no heap figure (${(err as Error).message})`);
		return null;
	} finally {
		inspector?.close();
	}
}

const WAIT = JSON.stringify({ type: "join_queue", payload: { gender: "male", preference: "female" } });

/**
 * All servers at once: each gets its sockets in turn (the others see no
 * event meanwhile), then one idle wait serves them all.
 */
export async function memoryScenario(
	servers: BenchServer[],
	o: MemoryOptions,
	log: Log,
): Promise<Map<string, MemoryResult>> {
	const opened = new Map<
		BenchServer,
		{
			before: number;
			afterOpen: number;
			heapAfter: number | null;
			heapAfterClose: number | null;
			socks: Sock[];
			errors: number;
		}
	>();
	const series = new Map<BenchServer, number[]>();
	try {
		await sleep(1000);
		for (const server of servers) {
			const direct = o.direct && server.kind !== "node-ws";
			const url = `${direct ? server.directWsUrl : server.wsUrl}${server.lobbyPath}`;
			const waitingUsers = server.kind === "ours";
			const before = server.runtimeRssKiB();
			const { results, errors } = await pool(
				Array.from({ length: o.sockets }, (_, i) => i),
				64,
				async () => {
					const s = await openLobby(url, 20_000);
					if (waitingUsers) {
						s.send(WAIT);
						await s.waitFor("queue_joined", 20_000);
					}
					return s;
				},
			);
			const socks = results.filter((s): s is Sock => s !== undefined);
			await sleep(1000);
			opened.set(server, {
				before,
				afterOpen: server.runtimeRssKiB(),
				heapAfter: null,
				heapAfterClose: null,
				socks,
				errors: errors.length,
			});
			series.set(server, []);
			if (errors.length > 0) log(`  ${server.kind}: ${errors.length} sockets failed: ${errors[0]}`);
		}
		for (let i = 0; i < o.hibernateWaitS; i++) {
			await sleep(1000);
			for (const server of servers) series.get(server)?.push(server.runtimeRssKiB());
		}
		// The heap last: a heap snapshot (the inspector's way to collect garbage)
		// grows the runtime's RSS. One frame that is not the auto-answered ping
		// wakes the object first, so its in-memory state is rebuilt and counted.
		for (const server of servers) {
			const m = opened.get(server);
			const sock = m?.socks[0];
			if (!m || !sock || server.inspectorPort === null) continue;
			sock.send({ type: "ping", payload: {} });
			await sock.waitFor("pong", 10_000).catch(() => log(`  ${server.kind}: no pong before the heap reading`));
			m.heapAfter = await heapKiB(server, log);
		}
		// The same isolate once the users are gone: the difference is theirs.
		for (const server of servers) {
			const m = opened.get(server);
			if (!m || m.heapAfter === null) continue;
			await closeAll(m.socks, 30_000);
			await sleep(2000);
			m.heapAfterClose = await heapKiB(server, log);
		}
		const out = new Map<string, MemoryResult>();
		for (const server of servers) {
			const m = opened.get(server);
			if (!m) continue;
			const idle = series.get(server) ?? [];
			const afterIdle = idle.at(-1) ?? m.afterOpen;
			const per = (kib: number) => Math.round(((kib - m.before) / Math.max(1, m.socks.length)) * 100) / 100;
			const result: MemoryResult = {
				sockets: m.socks.length,
				waitingUsers: server.kind === "ours",
				rssBeforeKiB: m.before,
				rssAfterOpenKiB: m.afterOpen,
				rssAfterIdleKiB: afterIdle,
				idleSeries: idle,
				kibPerUserAwake: per(m.afterOpen),
				kibPerUserIdle: per(afterIdle),
				heapAfterKiB: m.heapAfter,
				heapAfterCloseKiB: m.heapAfterClose,
				heapKibPerUser:
					m.heapAfterClose === null || m.heapAfter === null
						? null
						: Math.round(((m.heapAfter - m.heapAfterClose) / Math.max(1, m.socks.length)) * 100) / 100,
				errors: m.errors,
			};
			log(
				`  ${server.kind}: RSS ${Math.round(m.before / 1024)} → ${Math.round(m.afterOpen / 1024)} → ${Math.round(afterIdle / 1024)} MiB for ${m.socks.length} sockets: ${result.kibPerUserAwake} KiB/user awake, ${result.kibPerUserIdle} KiB/user after ${o.hibernateWaitS} s idle; isolate heap ${result.heapKibPerUser ?? "-"} KiB/user`,
			);
			out.set(server.kind, result);
		}
		return out;
	} finally {
		await Promise.all([...opened.values()].map((m) => closeAll(m.socks, 30_000)));
	}
}
