// Rows written are what a SQLite-backed Durable Object is billed for (every
// index entry, every deleted row, every `setAlarm` and sync-KV `put` counts),
// so each object runs its writes through one meter and reports the total in
// its log lines: the benchmark reads the bill from the objects themselves.

export class RowMeter {
	private written = 0;
	private sinceStart = 0;

	constructor(private readonly sql: SqlStorage) {}

	/** Rows written since the object started (or since the last `take`). */
	get rowsWritten(): number {
		return this.written;
	}

	/** Rows written since the object started, whatever `take` did (for tests and counters). */
	get total(): number {
		return this.sinceStart;
	}

	/**
	 * Runs a statement to completion and counts what it wrote (the cursor's
	 * `rowsWritten` is final only once it is consumed). One statement per
	 * call: the cursor of a script of several reports only the last one's rows.
	 */
	exec<T extends Record<string, SqlStorageValue>>(query: string, ...bindings: unknown[]): T[] {
		const cursor = this.sql.exec<T>(query, ...bindings);
		const rows = cursor.toArray();
		this.add(cursor.rowsWritten);
		return rows;
	}

	/** Writes the meter cannot see through a cursor: `setAlarm`, `kv.put`, `deleteAll`. */
	add(rows: number): void {
		this.written += rows;
		this.sinceStart += rows;
	}

	/** The count so far, and a fresh start (for a log line per interval). */
	take(): number {
		const n = this.written;
		this.written = 0;
		return n;
	}
}
