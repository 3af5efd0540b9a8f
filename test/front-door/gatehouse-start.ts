import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { CLI_MAIN } from "../support/cli.ts";

export interface StartedGatehouse {
  child: ChildProcess;
  stdout(): string;
  stderr(): string;
  /** The printed URL table: name → URL. */
  urls: Record<string, string>;
  stop(): Promise<void>;
}

/**
 * Runs the real `gatehouse start` (behind its front door when `GATEHOUSE_PUBLIC_BASE_URL` or `--public-url`
 * is given) and waits for its URL table. `prefix` runs it inside something else (`ip netns exec private`);
 * `args` follow `start`.
 */
export async function startGatehouse(
  env: Record<string, string>,
  opts: { prefix?: string[]; args?: string[]; timeoutMs?: number } = {},
): Promise<StartedGatehouse> {
  const [cmd, ...args] = [...(opts.prefix ?? []), process.execPath, CLI_MAIN, "start", ...(opts.args ?? [])];
  const child = spawn(cmd!, args, {
    env: { ...process.env, DATABASE_URL: "", LOG_LEVEL: "warn", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout!.on("data", (c: Buffer) => {
    stdout += c.toString("utf8");
  });
  child.stderr!.on("data", (c: Buffer) => {
    stderr = (stderr + c.toString("utf8")).slice(-64 * 1024);
  });
  const exited = once(child, "exit");
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill("SIGTERM");
      const t = setTimeout(() => child.kill("SIGKILL"), 10_000);
      await exited;
      clearTimeout(t);
    }
  };
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`gatehouse start not ready in time:\n${stdout}\n${stderr}`)),
        opts.timeoutMs ?? 120_000,
      );
      const check = setInterval(() => {
        if (stdout.includes("Watch audit:")) {
          clearInterval(check);
          clearTimeout(timer);
          resolve();
        }
      }, 100);
      child.once("exit", (code) => {
        clearInterval(check);
        clearTimeout(timer);
        reject(new Error(`gatehouse start exited (${code}):\n${stdout}\n${stderr}`));
      });
    });
  } catch (e) {
    await stop();
    throw e;
  }
  const urls = Object.fromEntries(
    [...stdout.matchAll(/^ {2}(\S+(?: \S+)?(?: \(sandbox\))?)\s+(https?:\/\/\S+)/gm)].map((m) => [
      m[1]!.trim(),
      m[2]!,
    ]),
  );
  return { child, stdout: () => stdout, stderr: () => stderr, urls, stop };
}
