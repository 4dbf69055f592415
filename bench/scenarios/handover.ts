// Scenario 4, hand-over: `match_found` on the lobby socket → `chat_joined` on
// the chat socket (open `chat_url`, upgrade, the chat object admits the user).
// Pairs are matched a few at a time; each user's hand-over is one sample.
import { closeAll, open, openLobby, pool, type Sock } from "../lib/client.ts";
import { Latency } from "../lib/histogram.ts";
import { sleep } from "../lib/poisson.ts";
import type { BenchServer } from "../lib/servers.ts";
import { Errors, startWindow } from "../lib/window.ts";
import { JOIN_ANY, type Log, type Measured } from "./common.ts";

export interface HandoverOptions {
	pairs: number;
	repeats: number;
	/** Pairs in flight at once. */
	concurrency: number;
}

export async function handoverScenario(server: BenchServer, o: HandoverOptions, log: Log): Promise<Measured[]> {
	const url = `${server.wsUrl}${server.lobbyPath}`;
	await once(server, url, Math.min(10, o.pairs), o.concurrency); // warm-up
	const out: Measured[] = [];
	for (let r = 0; r < o.repeats; r++) {
		const m = await once(server, url, o.pairs, o.concurrency);
		log(`  ${server.kind}: hand-over p50 ${m.latency.p50} p99 ${m.latency.p99} ms, errors ${m.errors}`);
		out.push(m);
	}
	return out;
}

async function once(server: BenchServer, url: string, pairs: number, concurrency: number): Promise<Measured> {
	const latency = new Latency();
	const match = new Latency();
	const errors = new Errors();
	const chatSocks: Sock[] = [];
	const w = startWindow(server);
	const { errors: failed } = await pool(
		Array.from({ length: pairs }, (_, i) => i),
		concurrency,
		async () => {
			const [a, b] = await Promise.all([openLobby(url), openLobby(url)]);
			const t0 = performance.now();
			a.send(JOIN_ANY);
			b.send(JOIN_ANY);
			const found = await Promise.all([a.waitFor("match_found", 10_000), b.waitFor("match_found", 10_000)]);
			match.recordMs(Math.max(...found.map((f) => f.at)) - t0);
			await Promise.all(
				found.map(async (f) => {
					const chat = await open(String(f.frame.payload.chat_url));
					chatSocks.push(chat);
					const joined = await chat.waitFor("chat_joined", 10_000);
					latency.recordMs(joined.at - f.at);
				}),
			);
		},
	);
	const cost = w.stop();
	for (const e of failed) errors.add(e.includes("timed out") ? "timeout" : "failed");
	if (server.kind === "ours") {
		// End the chats now rather than by the grace period.
		for (const s of chatSocks) s.send({ type: "leave_chat", payload: {} });
		await sleep(200);
	}
	await closeAll(chatSocks, 10_000);
	return {
		...cost,
		latency: latency.summary(),
		errors: errors.total,
		errorKinds: errors.kinds,
		extra: { matchLatency: match.summary() },
	};
}
