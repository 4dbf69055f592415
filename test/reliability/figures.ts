// Figures the reliability tests measure, kept in test-results/reliability/
// (one JSON file per test file) for docs/RELIABILITY.md.
import { mkdir, writeFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";

const DIR = fileURLToPath(new URL("../../test-results/reliability/", import.meta.url));

export async function writeFigures(name: string, figures: Record<string, unknown>): Promise<void> {
	await mkdir(DIR, { recursive: true });
	await writeFile(
		`${DIR}${name}.json`,
		`${JSON.stringify({ at: new Date().toISOString(), ...figures }, null, "\t")}\n`,
	);
}
