// Latency histograms in microseconds (hdr-histogram-js), summarised in milliseconds.
import { build, type Histogram } from "hdr-histogram-js";

/** Values above this (2 minutes) are clamped: a bench run never waits that long. */
const HIGHEST_US = 120_000_000;

export interface Summary {
	count: number;
	p50: number;
	p90: number;
	p99: number;
	p999: number;
	max: number;
	mean: number;
}

export class Latency {
	private readonly h: Histogram = build({
		lowestDiscernibleValue: 1,
		highestTrackableValue: HIGHEST_US,
		numberOfSignificantValueDigits: 3,
	});

	/** Records one latency given in milliseconds (fractional). */
	recordMs(ms: number): void {
		this.h.recordValue(Math.min(HIGHEST_US, Math.max(1, Math.round(ms * 1000))));
	}

	get count(): number {
		return this.h.totalCount;
	}

	summary(): Summary {
		const at = (p: number) => (this.h.totalCount === 0 ? 0 : round(this.h.getValueAtPercentile(p) / 1000));
		return {
			count: this.h.totalCount,
			p50: at(50),
			p90: at(90),
			p99: at(99),
			p999: at(99.9),
			max: this.h.totalCount === 0 ? 0 : round(this.h.maxValue / 1000),
			mean: this.h.totalCount === 0 ? 0 : round(this.h.mean / 1000),
		};
	}
}

export function round(x: number, digits = 3): number {
	const f = 10 ** digits;
	return Math.round(x * f) / f;
}

export function median(values: number[]): number {
	if (values.length === 0) return Number.NaN;
	const s = [...values].sort((a, b) => a - b);
	const mid = Math.floor(s.length / 2);
	return s.length % 2 === 1 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
}

/** The median of each field over several summaries (each percentile separately). */
export function medianSummary(summaries: Summary[]): Summary {
	const pick = (k: keyof Summary) => round(median(summaries.map((s) => s[k])));
	return {
		count: pick("count"),
		p50: pick("p50"),
		p90: pick("p90"),
		p99: pick("p99"),
		p999: pick("p999"),
		max: pick("max"),
		mean: pick("mean"),
	};
}
