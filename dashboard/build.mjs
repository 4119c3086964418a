// Builds the dashboard into ../api/pages/dashboard_static/: one JS bundle, one CSS bundle and the page.
// The output is committed (pip install, the Docker image and `make up` need no Node); tests check it is fresh.
import { copyFileSync, mkdirSync, rmSync } from "node:fs";
import { build } from "esbuild";

const out = process.argv[2] ?? "../api/pages/dashboard_static";
rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });
await build({
  entryPoints: { app: "src/main.js", style: "src/style.css" },
  bundle: true,
  minify: true,
  format: "iife",
  target: ["es2020"],
  legalComments: "none",
  outdir: out,
  logLevel: "warning",
});
for (const file of ["index.html", "favicon.ico"]) copyFileSync(`src/${file}`, `${out}/${file}`);
