// Copy the browser libraries into Django's static files. No bundler: htmx ships a ready file.
import { copyFileSync, mkdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const target = join(here, "..", "telederm", "core", "static", "vendor");
mkdirSync(target, { recursive: true });
copyFileSync(join(here, "node_modules", "htmx.org", "dist", "htmx.min.js"), join(target, "htmx.min.js"));
console.log(`copied htmx into ${target}`);
