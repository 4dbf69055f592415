// Scenario 3, queue-length independence (ours only: the FIFO baselines have no
// rules that make users incompatible). W users wait who can never match each
// other or the measured pairs (male looking for female); then compatible pairs
// (female looking for female) join one pair at a time, and the match latency
// (first join sent → both `match_found`) is compared for a short and a long queue.
import { closeAll, openLobby, pool, type Sock } from "../lib/client.ts";
import { Latency } from "../lib/histogram.ts";
import { sleep } from "../lib/poisson.ts";
import type { BenchServer } from "../lib/servers.ts";
import { Errors, startWindow } from "../lib/window.ts";
import type { Log, Measured } from "./common.ts";

export interface QueueOptions {
	small: number;
	large: number;
	pairs: number;
	repeats: number;
	/** Connect straight to the runtime (skipping wrangler's proxy): the proxy cannot hold 10,000 sockets here. */
	direct: boolean;
}

export interface QueueResult {
	waiting: { small: number; large: number };
	small: Measured[];
	large: Measured[];
}

/** Waiters give one of several languages and the pairs one more, so the language lanes are in play (PROTOCOL.md 1.1). */
const LANGUAGES = ["pt", "es", "de", "fr", "it"];
const wait = (i: number) =>
	JSON.stringify({
		type: "join_queue",
		payload: { gender: "male", preference: "female", language: LANGUAGES[i % LANGUAGES.length] },
	});
const PAIR = JSON.stringify({
	type: "join_queue",
	payload: { gender: "female", preference: "female", language: "en" },
});

export async function queueScenario(server: BenchServer, o: QueueOptions, log: Log): Promise<QueueResult> {
	const base = o.direct ? server.directWsUrl : server.wsUrl;
	const url = `${base}${server.lobbyPath}`;
	const waiting: Sock[] = [];
	try {
		const fill = async (target: number) => {
			const need = target - waiting.length;
			const { results, errors } = await pool(
				Array.from({ length: need }, (_, i) => i),
				64,
				async (i) => {
					const s = await openLobby(url, 20_000);
					s.send(wait(i));
					await s.waitFor("queue_joined", 20_000);
					return s;
				},
			);
			for (const s of results) if (s) waiting.push(s);
			if (errors.length > 0) throw new Error(`${errors.length} waiting users failed: ${errors[0]}`);
			log(`  ${server.kind}: ${waiting.length} users waiting`);
		};
		const rounds = async (): Promise<Measured[]> => {
			const out: Measured[] = [];
			for (let r = 0; r < o.repeats; r++) out.push(await measurePairs(server, url, o.pairs));
			return out;
		};
		await fill(o.small);
		await measurePairs(server, url, Math.min(20, o.pairs)); // warm-up
		const small = await rounds();
		await fill(o.large);
		await sleep(1000);
		const large = await rounds();
		return { waiting: { small: o.small, large: o.large }, small, large };
	} finally {
		await closeAll(waiting, 30_000);
	}
}

async function measurePairs(server: BenchServer, url: string, pairs: number): Promise<Measured> {
	const latency = new Latency();
	const errors = new Errors();
	const chunk = 20;
	let cost: ReturnType<ReturnType<typeof startWindow>["stop"]> | null = null;
	let busyS = 0;
	let serverS = 0;
	let runtimeS = 0;
	let proxyS = 0;
	let genS = 0;
	let otherS = 0;
	for (let done = 0; done < pairs; done += chunk) {
		const n = Math.min(chunk, pairs - done);
		// Sockets for this chunk, opened before the clock runs.
		const { results, errors: openErrors } = await pool(
			Array.from({ length: 2 * n }, (_, i) => i),
			16,
			() => openLobby(url, 20_000),
		);
		errors.add("connect failed", openErrors.length);
		const socks = results.filter((s): s is Sock => s !== undefined);
		const w = startWindow(server);
		for (let i = 0; i + 1 < socks.length; i += 2) {
			const a = socks[i] as Sock;
			const b = socks[i + 1] as Sock;
			const t0 = performance.now();
			a.send(PAIR);
			b.send(PAIR);
			try {
				const [fa, fb] = await Promise.all([a.waitFor("match_found", 10_000), b.waitFor("match_found", 10_000)]);
				if (fa.frame.payload.chat_id !== fb.frame.payload.chat_id) errors.add("matched with someone else");
				latency.recordMs(Math.max(fa.at, fb.at) - t0);
			} catch {
				errors.add("not matched within 10 s");
			}
			await sleep(5);
		}
		cost = w.stop();
		busyS += cost.seconds;
		serverS += cost.serverCpuS;
		runtimeS += cost.runtimeCpuS;
		proxyS += cost.proxyCpuS;
		genS += cost.genCpuS;
		otherS += cost.otherCpuS;
		await closeAll(socks, 5_000);
	}
	const last = cost as ReturnType<ReturnType<typeof startWindow>["stop"]>;
	return {
		seconds: Math.round(busyS * 1000) / 1000,
		serverCpuS: Math.round(serverS * 100) / 100,
		runtimeCpuS: Math.round(runtimeS * 100) / 100,
		proxyCpuS: Math.round(proxyS * 100) / 100,
		genCpuS: Math.round(genS * 100) / 100,
		otherCpuS: Math.round(otherS * 100) / 100,
		loop: last.loop,
		latency: latency.summary(),
		errors: errors.total,
		errorKinds: errors.kinds,
	};
}
