// `npm run dev` must work on a fresh clone: give wrangler a dev-only SECRET
// from the committed example unless the developer already has .dev.vars.
import { copyFileSync, existsSync } from "node:fs";

if (!existsSync(".dev.vars")) {
	copyFileSync(".dev.vars.example", ".dev.vars");
	console.log("Created .dev.vars from .dev.vars.example (dev-only SECRET).");
}
