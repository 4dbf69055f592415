// Waiting for a FlamingoClient's state, for the e2e and reliability tests:
// a test waits for the snapshot it expects, never for a fixed time.
import type { FlamingoClient, Snapshot } from "../../src/client/flamingo-client";

/** Waits for a snapshot satisfying `ok`, or fails after `timeoutMs` with the last one seen. */
export function untilSnapshot(
	client: FlamingoClient,
	what: string,
	ok: (s: Snapshot) => boolean,
	timeoutMs: number,
): Promise<Snapshot> {
	return new Promise<Snapshot>((resolve, reject) => {
		if (ok(client.snapshot)) {
			resolve(client.snapshot);
			return;
		}
		const timer = setTimeout(() => {
			stop();
			reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}; last snapshot: ${show(client)}`));
		}, timeoutMs);
		const stop = client.subscribe((s) => {
			if (!ok(s)) return;
			clearTimeout(timer);
			stop();
			resolve(s);
		});
	});
}

/** A snapshot for a failure message: the transcript as one short line per message. */
export function show(client: FlamingoClient): string {
	const { transcript, ...rest } = client.snapshot;
	return JSON.stringify({
		...rest,
		transcript: transcript && {
			chatId: transcript.chatId,
			lastReceived: transcript.lastReceived,
			messages: transcript.messages.map((m) => `${m.mine ? ">" : "<"}${m.messageId ?? "?"}:${m.content}:${m.state}`),
		},
	});
}
