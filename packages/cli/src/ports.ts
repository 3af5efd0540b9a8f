import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { UsageError } from "./usage-error.ts";

/** The sandbox's fixed loopback ports before any offset: issuer, HubSpot and Jira stand-ins. */
export const SANDBOX_PORTS = { issuer: 7100, hubspot: 7110, jira: 7120 } as const;

/**
 * `GATEHOUSE_PORT_OFFSET` shifts every port the sandbox uses (issuer, stand-ins and each server's
 * default port) by the same amount, so a second sandbox (or a test) can run beside the first.
 */
export function portOffset(env: NodeJS.ProcessEnv = process.env): number {
  const raw = env.GATEHOUSE_PORT_OFFSET;
  if (raw === undefined || raw === "") return 0;
  const n = Number(raw);
  // Whole hundreds: the sandbox's own ports span 7100-7199, so a smaller shift would land on them.
  if (!Number.isInteger(n) || n < 0 || n > 1000 || n % 100 !== 0)
    throw new UsageError(`GATEHOUSE_PORT_OFFSET must be 0, 100, 200, … up to 1000, not "${raw}"`);
  return n;
}

export const sandboxPort = (name: keyof typeof SANDBOX_PORTS, env: NodeJS.ProcessEnv = process.env) =>
  SANDBOX_PORTS[name] + portOffset(env);

/** Where a running `gatehouse start` records its port offset, in its data directory. */
export const RUNNING_FILE = "running.json";

/**
 * Records that `gatehouse start` (this process) serves `dataDir` at `offset`; returns the function that
 * removes the record again (only if it is still this process's). Commands run from another shell, and
 * `gatehouse stdio` launched by an MCP client that passes on no environment (MCP Inspector's CLI passes
 * only PATH, HOME and a few more), read it to reach the same ports.
 */
export function recordRunningSandbox(dataDir: string, offset: number): () => void {
  const file = join(dataDir, RUNNING_FILE);
  writeFileSync(file, `${JSON.stringify({ pid: process.pid, offset })}\n`, { mode: 0o600 });
  return () => {
    try {
      if ((JSON.parse(readFileSync(file, "utf8")) as { pid?: unknown }).pid === process.pid) rmSync(file);
    } catch {
      // Already gone, or replaced by a newer start: nothing of ours to remove.
    }
  };
}

/**
 * The offset of the `gatehouse start` running on `dataDir`, or undefined when none is: no record, an
 * unreadable one, or one whose process has gone (a start killed without cleaning up).
 */
export function runningSandboxOffset(dataDir: string): number | undefined {
  let record: { pid?: unknown; offset?: unknown };
  try {
    record = JSON.parse(readFileSync(join(dataDir, RUNNING_FILE), "utf8")) as typeof record;
  } catch {
    return undefined;
  }
  if (typeof record.pid !== "number" || typeof record.offset !== "number") return undefined;
  try {
    process.kill(record.pid, 0);
  } catch (e) {
    // EPERM: alive but another user's; anything else: gone.
    if ((e as NodeJS.ErrnoException).code !== "EPERM") return undefined;
  }
  return portOffset({ GATEHOUSE_PORT_OFFSET: String(record.offset) });
}

/**
 * Every command except `start` talks to the sandbox `gatehouse start` runs: GATEHOUSE_PORT_OFFSET when set,
 * otherwise the offset the running start recorded in the data directory. Sets the variable for this
 * process (and so for the server a stdio command runs). Returns where the offset came from.
 */
export function adoptRunningOffset(
  dataDir: string,
  env: NodeJS.ProcessEnv = process.env,
): "env" | "running" | "none" {
  if (env.GATEHOUSE_PORT_OFFSET !== undefined && env.GATEHOUSE_PORT_OFFSET !== "") {
    portOffset(env); // a bad value is refused now, before anything starts
    return "env";
  }
  const running = runningSandboxOffset(dataDir);
  if (running === undefined) return "none";
  env.GATEHOUSE_PORT_OFFSET = String(running);
  return "running";
}
