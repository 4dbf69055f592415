// FlamingoClient's challenge solver for the page: the proof of work runs in a
// Web Worker (pow-worker.ts) so the page stays responsive, with its progress
// passed on. If no worker can be started, it runs here instead.
import { solve } from "../../domain/safety/pow";
import type { ChallengeSolver } from "../flamingo-client";
import type { SolveReply, SolveRequest } from "./pow-worker";

export interface WorkerSolver {
	solve: ChallengeSolver;
	/** Stops the puzzle being solved, if any (the person cancelled); it resolves to null. */
	abort(): void;
}

export function workerSolver(url = "/pow-worker.js"): WorkerSolver {
	let stop: (() => void) | null = null;

	const abort = () => {
		const s = stop;
		stop = null;
		s?.();
	};

	const run: ChallengeSolver = (nonce, difficulty, onProgress) => {
		abort();
		let worker: Worker;
		try {
			worker = new Worker(url, { type: "module" });
		} catch {
			return solve(nonce, difficulty, onProgress);
		}
		return new Promise<string | null>((resolve) => {
			const finish = (solution: string | null) => {
				if (stop === cancel) stop = null;
				worker.terminate();
				resolve(solution);
			};
			const cancel = () => finish(null);
			stop = cancel;
			worker.onmessage = (e: MessageEvent<SolveReply>) => {
				if (stop !== cancel) return;
				if ("tries" in e.data) onProgress(e.data.tries);
				else finish(e.data.solution);
			};
			// The worker did not load or failed: solve on the page, as long as this puzzle is still wanted.
			worker.onerror = (e) => {
				e.preventDefault();
				if (stop !== cancel) return;
				worker.terminate();
				void solve(nonce, difficulty, (tries) => {
					if (stop === cancel) onProgress(tries);
				}).then((solution) => {
					if (stop === cancel) finish(solution);
				});
			};
			const request: SolveRequest = { nonce, difficulty };
			worker.postMessage(request);
		});
	};

	return { solve: run, abort };
}
