import { execFileSync } from "node:child_process";
import { readdirSync, statSync } from "node:fs";
import { join } from "node:path";

const root = new URL("../../", import.meta.url).pathname;

/** The `basket` command as package.json's `bin` installs it: the build in dist/. */
export const builtCli = join(root, "dist/src/cli/main.js");

const sources = ["src", "migrations", "package.json"];
let checked = false;

/**
 * Builds dist/ when it is missing or older than a source. Tests and benchmarks run the built
 * CLI rather than src/ through tsx: the same code, started in a second instead of three, and
 * process-level tests start hundreds of them.
 */
export function buildCliIfStale(): void {
  // Tests start hundreds of processes: walk the sources once per test process, not per start.
  if (checked) return;
  checked = true;
  if (newest(sources.map((path) => join(root, path))) <= modifiedAt(builtCli)) return;
  execFileSync(join(root, "node_modules/.bin/tsc"), ["-p", "tsconfig.build.json"], {
    cwd: root,
    stdio: "inherit",
  });
}

/** Vitest's globalSetup: once per run, before any test file starts a process. */
export default function setup(): void {
  buildCliIfStale();
}

function modifiedAt(path: string): number {
  try {
    return statSync(path).mtimeMs;
  } catch {
    return 0;
  }
}

function newest(paths: string[]): number {
  let latest = 0;
  for (const path of paths) {
    const stat = statSync(path);
    if (!stat.isDirectory()) latest = Math.max(latest, stat.mtimeMs);
    else latest = Math.max(latest, newest(readdirSync(path).map((entry) => join(path, entry))));
  }
  return latest;
}
