// Build the browser files into Django's static files (`make frontend`; both outputs git-ignored):
// - htmx: its ready-made file, copied;
// - photos/upload.bundle.js: src/upload.js with Uppy, bundled by esbuild for older phones.
import { copyFileSync, mkdirSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";
import { build } from "esbuild";

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, "..");

const vendor = join(root, "telederm", "core", "static", "vendor");
mkdirSync(vendor, { recursive: true });
copyFileSync(join(here, "node_modules", "htmx.org", "dist", "htmx.min.js"), join(vendor, "htmx.min.js"));
console.log(`copied htmx into ${vendor}`);

// Uppy's plugins import their whole package.json for one field, `version`: keep only that.
const packageVersionOnly = {
  name: "package-version-only",
  setup(build) {
    build.onLoad({ filter: /[\\/]@uppy[\\/][^\\/]+[\\/]package\.json$/ }, (args) => ({
      contents: JSON.stringify({ version: JSON.parse(readFileSync(args.path, "utf8")).version }),
      loader: "json",
    }));
  },
};

const bundle = join(root, "telederm", "photos", "static", "photos", "upload.bundle.js");
await build({
  entryPoints: [join(here, "src", "upload.js")],
  outfile: bundle,
  bundle: true,
  minify: true,
  // Chrome 80 / Safari 13 era phones: optional chaining, ?? and #private fields are rewritten.
  target: "es2019",
  format: "iife",
  sourcemap: "linked",
  legalComments: "eof",
  plugins: [packageVersionOnly],
  logLevel: "warning",
});
const bytes = readFileSync(bundle);
console.log(
  `built ${bundle}: ${(bytes.length / 1024).toFixed(1)} KiB, ` +
    `${(gzipSync(bytes, { level: 9 }).length / 1024).toFixed(1)} KiB gzipped`,
);
