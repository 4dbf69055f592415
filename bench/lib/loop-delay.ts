// Event-loop delay of the load generator during a measuring window. A
// generator that lags sends late and reads late; a run whose p99 delay is above
// the limit is flagged invalid.
import { monitorEventLoopDelay } from "node:perf_hooks";

export const LOOP_DELAY_LIMIT_MS = 5;

export interface LoopDelay {
	p50: number;
	p99: number;
	max: number;
	valid: boolean;
}

export function watchLoopDelay(): { stop(): LoopDelay } {
	const h = monitorEventLoopDelay({ resolution: 1 });
	h.enable();
	return {
		stop() {
			h.disable();
			const ms = (ns: number) => Math.round(ns / 1e3) / 1e3;
			const p99 = ms(h.percentile(99));
			return { p50: ms(h.percentile(50)), p99, max: ms(h.max), valid: p99 <= LOOP_DELAY_LIMIT_MS };
		},
	};
}
