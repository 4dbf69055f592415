// The abuse challenge's proof of work, off the page's thread (a separate
// bundle, dist/client/pow-worker.js, fetched only when the server asks for
// it): SHA-256 with crypto.subtle until `difficulty` leading zero bits, the
// tries so far posted every 4096, then the solution.
import { solve } from "../../domain/safety/pow";

export interface SolveRequest {
	nonce: string;
	difficulty: number;
}

export type SolveReply = { tries: number } | { solution: string | null };

/** The part of a dedicated worker's global scope used here (the app's types are the page's). */
interface WorkerScope {
	onmessage: ((e: MessageEvent<SolveRequest>) => void) | null;
	postMessage(reply: SolveReply): void;
}

const scope = self as unknown as WorkerScope;

scope.onmessage = (e) => {
	const { nonce, difficulty } = e.data;
	void solve(nonce, difficulty, (tries) => scope.postMessage({ tries })).then((solution) =>
		scope.postMessage({ solution }),
	);
};
