// CPU seconds and resident memory from /proc: the server's whole process group
// (npm → wrangler's node → workerd) and the generator itself.
import { readdirSync, readFileSync, readlinkSync } from "node:fs";

/** Clock ticks per second of /proc/<pid>/stat times (sysconf(_SC_CLK_TCK), 100 on Linux). */
const TICKS_PER_SEC = 100;

interface ProcStat {
	pid: number;
	comm: string;
	ppid: number;
	pgrp: number;
	ticks: number;
}

function readStat(pid: number): ProcStat | null {
	let text: string;
	try {
		text = readFileSync(`/proc/${pid}/stat`, "utf8");
	} catch {
		return null;
	}
	// comm is in parentheses and may hold spaces: split after the last ")".
	const close = text.lastIndexOf(")");
	const comm = text.slice(text.indexOf("(") + 1, close);
	const f = text.slice(close + 2).split(" ");
	// f[0] is field 3 (state): ppid is field 4, pgrp 5, utime 14, stime 15.
	return {
		pid,
		comm,
		ppid: Number(f[1]),
		pgrp: Number(f[2]),
		ticks: Number(f[11]) + Number(f[12]),
	};
}

function allStats(): ProcStat[] {
	const out: ProcStat[] = [];
	for (const name of readdirSync("/proc")) {
		if (!/^\d+$/.test(name)) continue;
		const s = readStat(Number(name));
		if (s) out.push(s);
	}
	return out;
}

/** utime + stime, in seconds, of every live process in process group `pgid`. */
export function groupCpuSeconds(pgid: number): number {
	let ticks = 0;
	for (const s of allStats()) if (s.pgrp === pgid) ticks += s.ticks;
	return ticks / TICKS_PER_SEC;
}

/** CPU seconds of one process. */
export function processCpuSeconds(pid: number): number {
	return (readStat(pid)?.ticks ?? 0) / TICKS_PER_SEC;
}

/** Every descendant of `root` (walking ppid links), with its command name. */
export function descendants(root: number): { pid: number; comm: string }[] {
	const stats = allStats();
	const children = new Map<number, ProcStat[]>();
	for (const s of stats) {
		const list = children.get(s.ppid) ?? [];
		list.push(s);
		children.set(s.ppid, list);
	}
	const out: { pid: number; comm: string }[] = [];
	const stack = [root];
	while (stack.length > 0) {
		const pid = stack.pop() as number;
		for (const c of children.get(pid) ?? []) {
			out.push({ pid: c.pid, comm: c.comm });
			stack.push(c.pid);
		}
	}
	return out;
}

export function cmdline(pid: number): string[] {
	try {
		return readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").filter(Boolean);
	} catch {
		return [];
	}
}

/** VmRSS of a process in KiB, or NaN when it is gone. */
export function rssKiB(pid: number): number {
	try {
		const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
		return m ? Number(m[1]) : Number.NaN;
	} catch {
		return Number.NaN;
	}
}

/** Open file descriptors of a process (NaN when unreadable). */
export function openFds(pid: number): number {
	try {
		return readdirSync(`/proc/${pid}/fd`).length;
	} catch {
		return Number.NaN;
	}
}

/** CPU seconds (user + system, all threads) of this process. */
export function selfCpuSeconds(): number {
	const u = process.cpuUsage();
	return (u.user + u.system) / 1e6;
}

/** LISTEN sockets (127.0.0.1 ports) owned by a process, from /proc/net/tcp and its fd links. */
export function listeningPorts(pid: number): number[] {
	const inodes = new Set<string>();
	try {
		for (const fd of readdirSync(`/proc/${pid}/fd`)) {
			try {
				const link = readlinkSync(`/proc/${pid}/fd/${fd}`);
				const m = /^socket:\[(\d+)\]$/.exec(link);
				if (m?.[1]) inodes.add(m[1]);
			} catch {
				// fd closed meanwhile
			}
		}
	} catch {
		return [];
	}
	const ports: number[] = [];
	for (const line of readFileSync("/proc/net/tcp", "utf8").split("\n").slice(1)) {
		const f = line.trim().split(/\s+/);
		// local_address rem_address st ... inode is field 9; st 0A is LISTEN.
		if (f.length < 10 || f[3] !== "0A" || !inodes.has(f[9] as string)) continue;
		const [addr, port] = (f[1] as string).split(":");
		if (addr === "0100007F") ports.push(Number.parseInt(port as string, 16));
	}
	return ports;
}

/** Busy CPU seconds of the whole machine (all cores) from /proc/stat. */
export function machineBusySeconds(): number {
	const f = (readFileSync("/proc/stat", "utf8").split("\n")[0] ?? "").trim().split(/\s+/).slice(1).map(Number);
	// user nice system idle iowait irq softirq steal: busy = user + nice + system + irq + softirq
	const at = (i: number) => f[i] ?? 0;
	return (at(0) + at(1) + at(2) + at(5) + at(6)) / TICKS_PER_SEC;
}
