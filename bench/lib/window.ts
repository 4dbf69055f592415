// One measuring window: CPU seconds of the server's process group and of the
// generator, and the generator's event-loop delay, from start to stop.
import { machineBusySeconds, processCpuSeconds, selfCpuSeconds } from "./cpu.ts";
import { type LoopDelay, watchLoopDelay } from "./loop-delay.ts";
import { allServersCpuSeconds, type BenchServer } from "./servers.ts";

export interface WindowCost {
	seconds: number;
	serverCpuS: number;
	/** Of serverCpuS: the runtime workerd (or node) and wrangler's proxy workerd. */
	runtimeCpuS: number;
	proxyCpuS: number;
	genCpuS: number;
	/** Busy CPU seconds on the machine that were neither the server's nor the generator's (other processes). */
	otherCpuS: number;
	loop: LoopDelay;
}

export function startWindow(server: BenchServer): { stop(): WindowCost } {
	const t0 = performance.now();
	const s0 = server.cpuSeconds();
	const r0 = processCpuSeconds(server.runtimePid);
	const p0 = server.proxyPid === null ? 0 : processCpuSeconds(server.proxyPid);
	const g0 = selfCpuSeconds();
	const m0 = machineBusySeconds();
	const a0 = allServersCpuSeconds();
	const loop = watchLoopDelay();
	return {
		stop() {
			const l = loop.stop();
			const serverCpuS = server.cpuSeconds() - s0;
			const genCpuS = selfCpuSeconds() - g0;
			// Everything else: other processes and the kernel (our idle servers count as ours, not as other).
			const other = Math.max(0, machineBusySeconds() - m0 - (allServersCpuSeconds() - a0) - genCpuS);
			return {
				seconds: Math.round(performance.now() - t0) / 1000,
				serverCpuS: Math.round(serverCpuS * 100) / 100,
				runtimeCpuS: Math.round((processCpuSeconds(server.runtimePid) - r0) * 100) / 100,
				proxyCpuS: server.proxyPid === null ? 0 : Math.round((processCpuSeconds(server.proxyPid) - p0) * 100) / 100,
				genCpuS: Math.round(genCpuS * 100) / 100,
				otherCpuS: Math.round(other * 100) / 100,
				loop: l,
			};
		},
	};
}

/** Counts of things that went wrong, by kind. */
export class Errors {
	readonly kinds: Record<string, number> = {};
	add(kind: string, n = 1): void {
		if (n <= 0) return;
		this.kinds[kind] = (this.kinds[kind] ?? 0) + n;
	}
	get total(): number {
		return Object.values(this.kinds).reduce((a, b) => a + b, 0);
	}
}

/**
 * Waits (bounded) until every server's process group is quiet: under 3 % of a
 * core for a whole second, so one server's leftover work (a relay backlog, a
 * close storm) does not land in the next server's window on the shared core.
 */
export async function waitIdle(servers: BenchServer[], log: (m: string) => void, timeoutMs = 60_000): Promise<boolean> {
	const deadline = performance.now() + timeoutMs;
	let quiet = 0;
	let last = servers.map((s) => s.cpuSeconds());
	while (performance.now() < deadline) {
		await new Promise((r) => setTimeout(r, 500));
		const now = servers.map((s) => s.cpuSeconds());
		const busiest = Math.max(...now.map((c, i) => c - (last[i] ?? 0)));
		last = now;
		quiet = busiest <= 0.015 ? quiet + 1 : 0;
		if (quiet >= 2) return true;
	}
	log(`  ${servers.map((s) => s.kind).join(", ")}: still busy after ${timeoutMs / 1000} s`);
	return false;
}
