// `npm run bench:profile`: where our server's CPU goes. Starts our server
// (the real `npm run dev`, pinned like the bench), attaches to the runtime's
// V8 through wrangler's inspector port, and records a CPU profile during each
// of three loads: relay (clients confirming with delivery receipts, as the
// bundled client does), joins, new connections. Prints the functions with
// the most self time (bundled names; time in native calls such as SQLite and
// crypto counts to the JavaScript function that made them).

import { closeAll, openLobby, pool, type Sock } from "./lib/client.ts";
import { Inspector } from "./lib/inspector.ts";
import { poissonTimes, rng, runSchedule, sleep } from "./lib/poisson.ts";
import { ReceiptSender } from "./lib/receipts.ts";
import { type BenchServer, pinSelf, startServer } from "./lib/servers.ts";
import { closeChats, JOIN_ANY, openChats } from "./scenarios/common.ts";

interface ProfileNode {
	id: number;
	callFrame: { functionName: string; url: string; lineNumber: number };
	hitCount?: number;
	children?: number[];
}
interface Profile {
	nodes: ProfileNode[];
	samples: number[];
	timeDeltas: number[];
}

function top(profile: Profile, n: number): string {
	const selfUs = new Map<number, number>();
	for (const [i, node] of profile.samples.entries()) {
		selfUs.set(node, (selfUs.get(node) ?? 0) + (profile.timeDeltas[i] ?? 0));
	}
	const byFn = new Map<string, number>();
	let total = 0;
	let idle = 0;
	for (const node of profile.nodes) {
		const us = selfUs.get(node.id) ?? 0;
		const f = node.callFrame;
		if (f.functionName === "(idle)") {
			idle += us;
			continue;
		}
		total += us;
		const file = f.url.split("/").at(-1) ?? "";
		const key = `${f.functionName || "(anonymous)"} ${file}:${f.lineNumber + 1}`;
		byFn.set(key, (byFn.get(key) ?? 0) + us);
	}
	// Native frames (no script) say little by name: show who called them.
	const parentOf = new Map<number, ProfileNode>();
	for (const node of profile.nodes) for (const child of node.children ?? []) parentOf.set(child, node);
	const callers = new Map<string, Map<string, number>>();
	for (const node of profile.nodes) {
		if (node.callFrame.url !== "" || node.callFrame.functionName === "(idle)") continue;
		const key = `${node.callFrame.functionName || "(anonymous)"} :${node.callFrame.lineNumber + 1}`;
		let caller = parentOf.get(node.id);
		while (caller && caller.callFrame.url === "" && parentOf.has(caller.id)) caller = parentOf.get(caller.id);
		const name = caller
			? `${caller.callFrame.functionName || "(anonymous)"} ${caller.callFrame.url.split("/").at(-1) ?? ""}:${caller.callFrame.lineNumber + 1}`
			: "(root)";
		const byCaller = callers.get(key) ?? new Map<string, number>();
		byCaller.set(name, (byCaller.get(name) ?? 0) + (selfUs.get(node.id) ?? 0));
		callers.set(key, byCaller);
	}
	const lines = [...byFn.entries()]
		.sort((a, b) => b[1] - a[1])
		.slice(0, n)
		.flatMap(([k, us]) => {
			const line = `  ${((100 * us) / total).toFixed(1).padStart(5)}%  ${(us / 1000).toFixed(0).padStart(6)} ms  ${k}`;
			const from = [...(callers.get(k)?.entries() ?? [])].sort((a, b) => b[1] - a[1]).slice(0, 3);
			return from.length > 0 && us > total / 50
				? [line, ...from.map(([c, cu]) => `            ${(cu / 1000).toFixed(0).padStart(6)} ms  ← ${c}`)]
				: [line];
		});
	return `busy ${(total / 1000).toFixed(0)} ms, idle ${(idle / 1000).toFixed(0)} ms\n${lines.join("\n")}`;
}

async function profiled(inspector: Inspector, name: string, load: () => Promise<void>): Promise<void> {
	await inspector.call("Profiler.enable");
	await inspector.call("Profiler.setSamplingInterval", { interval: 200 });
	await inspector.call("Profiler.start");
	await load();
	const result = (await inspector.call("Profiler.stop")) as { profile: Profile };
	console.log(`\n== ${name}\n${top(result.profile, 25)}`);
}

async function main(): Promise<void> {
	await pinSelf("1");
	const server: BenchServer = await startServer("ours", {
		cpus: "0",
		vars: { PER_IP_LIMITS: "off", HEARTBEAT_TIMEOUT_MS: "600000" },
	});
	try {
		const inspector = await Inspector.attach(server.inspectorPort as number);
		const log = (m: string) => process.stderr.write(`${m}\n`);
		// Relay: 200 chats, 400 messages/s for 10 s.
		const chats = await openChats(server, 200, "prof", log);
		// The clients confirm what they receive, as the bundled client does (50 ms, PROTOCOL.md 1.1).
		const receipts: ReceiptSender[] = [];
		for (const c of chats) {
			for (const s of [c.a, c.b]) {
				const receipt = new ReceiptSender(s, 50);
				receipts.push(receipt);
				s.onFrame = (frame) => {
					if (frame.type === "message_received") receipt.got(Number(frame.payload.message_id));
				};
			}
		}
		const random = rng(7);
		await profiled(inspector, "relay, 400 messages/s for 10 s", async () => {
			await runSchedule(performance.now() + 10, poissonTimes(400, 10_000, random), (i) => {
				const c = chats[Math.floor(random() * chats.length)];
				(random() < 0.5 ? c?.a : c?.b)?.send(
					`{"type":"send_message","payload":{"content":"${i} profile message","client_msg_id":"${i}"}}`,
				);
			});
			await sleep(1000);
		});
		for (const r of receipts) r.flush();
		await closeChats(server, chats);
		for (const r of receipts) r.stop();
		// Joins: 2,000 initialised sockets, 200 joins/s for 10 s.
		const url = `${server.wsUrl}${server.lobbyPath}`;
		const { results } = await pool(
			Array.from({ length: 2000 }, (_, i) => i),
			64,
			() => openLobby(url),
		);
		const socks = results.filter((s): s is Sock => s !== undefined);
		await profiled(inspector, "joins, 200 joins/s for 10 s", async () => {
			await runSchedule(
				performance.now() + 10,
				Array.from({ length: socks.length }, (_, i) => i * 5),
				(i) => socks[i]?.send(JOIN_ANY),
			);
			await sleep(1000);
		});
		await closeAll(socks);
		// New connections: 200/s for 10 s, upgrade + init → ready.
		const opened: Sock[] = [];
		await profiled(inspector, "new connections, 200/s for 10 s", async () => {
			const pending: Promise<void>[] = [];
			await runSchedule(
				performance.now() + 10,
				Array.from({ length: 2000 }, (_, i) => i * 5),
				() => {
					pending.push(
						openLobby(url).then(
							(s) => void opened.push(s),
							() => {},
						),
					);
				},
			);
			await Promise.all(pending);
		});
		await closeAll(opened);
		inspector.close();
	} finally {
		await server.stop();
	}
}

await main();
process.exit(0);
