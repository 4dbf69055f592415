// Scenario 5, memory: resident memory of the process running the server's
// code (the runtime workerd; node for node-ws) before S idle lobby sockets are
// opened, right after, and after the object had time to hibernate (no frame
// at all, not even pings: the object is evicted after about 10 s without
// events). Ours: each user sent `init` and `join_queue` (male looking for
// female, so nobody matches) and waits. The baselines pair anyone FIFO, so
// their users only sent `init`.
import { closeAll, openLobby, pool, type Sock } from "../lib/client.ts";
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
	errors: number;
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
	const opened = new Map<BenchServer, { before: number; afterOpen: number; socks: Sock[]; errors: number }>();
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
			opened.set(server, { before, afterOpen: server.runtimeRssKiB(), socks, errors: errors.length });
			series.set(server, []);
			if (errors.length > 0) log(`  ${server.kind}: ${errors.length} sockets failed: ${errors[0]}`);
		}
		for (let i = 0; i < o.hibernateWaitS; i++) {
			await sleep(1000);
			for (const server of servers) series.get(server)?.push(server.runtimeRssKiB());
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
				errors: m.errors,
			};
			log(
				`  ${server.kind}: RSS ${Math.round(m.before / 1024)} → ${Math.round(m.afterOpen / 1024)} → ${Math.round(afterIdle / 1024)} MiB for ${m.socks.length} sockets: ${result.kibPerUserAwake} KiB/user awake, ${result.kibPerUserIdle} KiB/user after ${o.hibernateWaitS} s idle`,
			);
			out.set(server.kind, result);
		}
		return out;
	} finally {
		await Promise.all([...opened.values()].map((m) => closeAll(m.socks, 30_000)));
	}
}
