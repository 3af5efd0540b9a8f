import { spawnSync } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { tsxLoader } from "@gatehouse/kit/testing";

export const CLI_MAIN = join(
  dirname(fileURLToPath(import.meta.url)),
  "..",
  "..",
  "packages",
  "cli",
  "src",
  "main.ts",
);

/** Runs the real `gatehouse` command as a person would, against a test environment's store. */
export function runCli(args: string[], env: Record<string, string>) {
  const r = spawnSync(process.execPath, ["--import", tsxLoader, CLI_MAIN, ...args], {
    env: { ...process.env, ...env },
    encoding: "utf8",
    timeout: 60_000,
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}
