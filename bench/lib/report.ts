// The human tables and the target verdicts.
import type { Summary } from "./histogram.ts";

export interface Row {
	scenario: string;
	server: string;
	latency: Summary;
	errors: number;
	serverCpuS: number;
	runtimeCpuS: number;
	proxyCpuS: number;
	genCpuS: number;
	otherCpuS: number;
	seconds: number;
	loopP99: number;
	valid: boolean;
	disturbed: boolean;
	note?: string;
}

export interface Target {
	name: string;
	/** What is compared, in words. */
	figure: string;
	ours: number;
	reference: number | null;
	referenceName: string;
	/** ours / reference (or ours itself when there is no reference). */
	value: number;
	op: "<=" | ">=";
	limit: number;
	pass: boolean;
	/** node-ws's figure beside it, when it has one. */
	nodeWs?: number | null;
	note?: string;
	/** A figure reported beside the targets, with no limit and no verdict. */
	informational?: boolean;
}

export function target(t: Omit<Target, "value" | "pass"> & { value?: number }): Target {
	const value =
		t.value ??
		(t.reference === null || t.reference === 0 ? Number.NaN : Math.round((t.ours / t.reference) * 1000) / 1000);
	const pass = Number.isFinite(value) && (t.op === "<=" ? value <= t.limit : value >= t.limit);
	return { ...t, value, pass };
}

/** A figure reported with the targets, without a limit or a verdict (NaN: not measured). */
export function info(t: { name: string; figure: string; value: number; note?: string }): Target {
	return {
		name: t.name,
		figure: t.figure,
		ours: t.value,
		reference: null,
		referenceName: "",
		value: t.value,
		op: "<=",
		limit: Number.NaN,
		pass: true,
		informational: true,
		...(t.note === undefined ? {} : { note: t.note }),
	};
}

/** Columns 1 and 2 (and the last one, if `lastLeft`) are aligned left, the figures right. */
function pad(cells: string[][], lastLeft = false): string {
	const widths: number[] = [];
	for (const row of cells) {
		for (const [i, c] of row.entries()) widths[i] = Math.max(widths[i] ?? 0, c.length);
	}
	const last = widths.length - 1;
	return cells
		.map((row, r) => {
			const line = row
				.map((c, i) => (i < 2 || (lastLeft && i === last) ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0)))
				.join("  ")
				.trimEnd();
			return r === 0 ? `${line}\n${widths.map((w) => "-".repeat(w)).join("  ")}` : line;
		})
		.join("\n");
}

const f = (x: number) => (Number.isFinite(x) ? (Math.abs(x) >= 100 ? x.toFixed(0) : x.toFixed(2)) : "n/a");

export function latencyTable(rows: Row[]): string {
	const head = [
		"scenario",
		"server",
		"p50 ms",
		"p90",
		"p99",
		"p99.9",
		"max",
		"count",
		"errors",
		"srv CPU s",
		"runtime/proxy",
		"gen CPU s",
		"other CPU s",
		"window s",
		"gen loop p99 ms",
		"valid",
	];
	return pad([
		head,
		...rows.map((r) => [
			r.scenario,
			r.server,
			f(r.latency.p50),
			f(r.latency.p90),
			f(r.latency.p99),
			f(r.latency.p999),
			f(r.latency.max),
			String(r.latency.count),
			String(r.errors),
			f(r.serverCpuS),
			`${f(r.runtimeCpuS)}/${f(r.proxyCpuS)}`,
			f(r.genCpuS),
			f(r.otherCpuS),
			f(r.seconds),
			f(r.loopP99),
			(r.valid ? "yes" : "INVALID") + (r.disturbed ? " (busy machine)" : ""),
		]),
	]);
}

export function targetTable(targets: Target[]): string {
	return pad(
		[
			["target", "figure", "ours", "reference", "ratio/value", "limit", "verdict", "node-ws", "note"],
			...targets.map((t) => [
				t.name,
				t.figure,
				f(t.ours),
				t.reference === null ? "-" : `${f(t.reference)} (${t.referenceName})`,
				t.informational && !Number.isFinite(t.value) ? "not measured" : f(t.value),
				t.informational ? "-" : `${t.op} ${t.limit}`,
				t.informational ? "info" : t.pass ? "PASS" : "MISS",
				t.nodeWs === undefined || t.nodeWs === null ? "-" : f(t.nodeWs),
				t.note ?? "",
			]),
		],
		true,
	);
}

export function plainTable(head: string[], rows: string[][]): string {
	return pad([head, ...rows]);
}
