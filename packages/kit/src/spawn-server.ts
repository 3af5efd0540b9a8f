import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";

/**
 * Tells a parent that spawned this process with an IPC channel (`spawnHttpServer`) that it serves `url`,
 * whatever the log level; the channel then stops keeping the process alive.
 */
export function announceServing(url: string): void {
  if (!process.send) return;
  process.send({ gatehouse: "serving", url });
  process.channel?.unref();
}

export interface SpawnedServer {
  url: string;
  process: ChildProcess;
  /** Everything the process wrote to stderr (its structured log). */
  stderr(): string;
  stop(signal?: NodeJS.Signals): Promise<void>;
}

/**
 * Starts `entry` (a server's src/main.ts) as a process serving HTTP (on an ephemeral loopback port unless
 * env sets GATEHOUSE_PORT) and resolves when it reports (over IPC) that it is serving. A server that exits or stays
 * silent fails the call with its own stderr. Used by `gatehouse start` and by the cross-process tests.
 */
export async function spawnHttpServer(
  entry: string,
  env: NodeJS.ProcessEnv,
  timeoutMs = 30_000,
): Promise<SpawnedServer> {
  const child = spawn(process.execPath, [entry, "http"], {
    env: { ...process.env, GATEHOUSE_PORT: "0", LOG_LEVEL: "info", ...env },
    // The server announces its URL over IPC once it serves, whatever its log level.
    stdio: ["ignore", "ignore", "pipe", "ipc"],
  });
  let log = "";
  child.stderr!.setEncoding("utf8");
  child.stderr!.on("data", (chunk: string) => {
    // Keep only the tail of a long-running server's log.
    log = (log + chunk).slice(-64 * 1024);
  });
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => {
      // Never leave a half-started server behind (nor the pipes that would keep the parent alive).
      child.kill("SIGKILL");
      reject(new Error(`${entry} did not start within ${timeoutMs} ms:\n${log}`));
    }, timeoutMs);
    child.on("message", (m: { gatehouse?: string; url?: string }) => {
      if (m?.gatehouse !== "serving" || !m.url) return;
      clearTimeout(timer);
      child.channel?.unref();
      resolve(m.url);
    });
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`${entry} exited with code ${code} before serving:\n${log}`));
    });
  });
  return {
    url,
    process: child,
    stderr: () => log,
    async stop(signal = "SIGTERM") {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill(signal);
      await once(child, "exit");
    },
  };
}
