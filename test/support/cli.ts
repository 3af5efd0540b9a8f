import { execFile, spawnSync } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";

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
  const r = spawnSync(process.execPath, [CLI_MAIN, ...args], {
    env: { ...process.env, ...env },
    encoding: "utf8",
    timeout: 60_000,
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** The same, without blocking this process: for commands that call servers which verify tokens against
 * the sandbox issuer running in the test process. */
export async function runCliAsync(args: string[], env: Record<string, string>) {
  try {
    const r = await promisify(execFile)(process.execPath, [CLI_MAIN, ...args], {
      env: { ...process.env, ...env },
      timeout: 60_000,
    });
    return { status: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (e) {
    const f = e as { code?: number; stdout?: string; stderr?: string };
    return { status: f.code ?? 1, stdout: f.stdout ?? "", stderr: f.stderr ?? "" };
  }
}
