import { existsSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

/** The monorepo root: the nearest folder above this file with pnpm-workspace.yaml. */
export function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(join(dir, "pnpm-workspace.yaml"))) return dir;
    const up = resolve(dir, "..");
    if (up === dir) return process.cwd();
    dir = up;
  }
}

/** Where local state lives by default (embedded store, sandbox keys and databases): `<repo>/.gatehouse`. */
export function defaultDataDir(): string {
  return join(repoRoot(), ".gatehouse");
}
