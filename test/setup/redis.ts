import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { accessSync, constants } from "node:fs";
import { type AddressInfo, createServer } from "node:net";
import { delimiter, join } from "node:path";
import type { TestProject } from "vitest/node";

declare module "vitest" {
  export interface ProvidedContext {
    /** URL of a throwaway Redis on loopback, or "" when none could be started. */
    redisUrl: string;
  }
}

/** A redis-server this test run started: on loopback, nothing saved to disk. */
export interface RunningRedis {
  url: string;
  port: number;
  /** SIGSTOP: the server keeps its connections but answers nothing (a hung Redis). */
  pause(): void;
  resume(): void;
  /** SIGKILL, and wait until it is gone (the port then refuses connections). */
  stop(): Promise<void>;
  /** Starts again on the same port, empty. */
  restart(): Promise<void>;
}

/** The redis-server binary on PATH (Debian puts it in /usr/bin), if any. */
export function findRedisServer(): string | undefined {
  const dirs = [...(process.env.PATH ?? "").split(delimiter), "/usr/bin", "/usr/sbin"];
  for (const dir of dirs) {
    const candidate = join(dir, "redis-server");
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {}
  }
  return undefined;
}

/** Starts redis-server on a free loopback port (or the given one) and waits until it accepts connections. */
export async function startRedis(fixedPort?: number): Promise<RunningRedis> {
  const bin = findRedisServer();
  if (!bin) throw new Error("redis-server is not installed (apt-get install redis-server)");
  let child: ChildProcess;
  let port = fixedPort ?? 0;
  for (let attempt = 1; ; attempt++) {
    port = fixedPort ?? (await freePort());
    try {
      child = await launch(bin, port);
      break;
    } catch (err) {
      // Another process can take the port between the probe and Redis's bind: try another.
      if (fixedPort !== undefined || attempt >= 3) throw err;
    }
  }
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = once(child, "exit");
    child.kill("SIGKILL");
    await exited;
  };
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    pause: () => child.kill("SIGSTOP"),
    resume: () => child.kill("SIGCONT"),
    stop,
    async restart() {
      await stop();
      child = await launch(bin, port);
    },
  };
}

function launch(bin: string, port: number): Promise<ChildProcess> {
  const args = ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"];
  const child = spawn(bin, [...args, "--daemonize", "no"], { stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`redis-server did not start on port ${port} within 10 s:\n${output.slice(-800)}`));
    }, 10_000);
    const onData = (chunk: Buffer) => {
      output += chunk.toString("utf8");
      if (/Ready to accept connections/.test(output)) {
        clearTimeout(timer);
        // Keep draining its output so a full pipe never blocks it.
        child.stdout!.off("data", onData);
        child.stdout!.resume();
        child.stderr!.resume();
        resolve(child);
      }
    };
    child.stdout!.on("data", onData);
    child.stderr!.on("data", (chunk: Buffer) => {
      output += chunk.toString("utf8");
    });
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`redis-server exited with code ${code} on port ${port}:\n${output.slice(-800)}`));
    });
  });
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address() as AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

/**
 * Starts a throwaway Redis on loopback for the shared rate-limit suites, or uses GATEHOUSE_TEST_REDIS_URL.
 * Without redis-server, local runs skip those suites; CI must have it.
 */
export default async function setup(project: TestProject) {
  if (process.env.GATEHOUSE_TEST_REDIS_URL) {
    project.provide("redisUrl", process.env.GATEHOUSE_TEST_REDIS_URL);
    return;
  }
  if (!findRedisServer()) {
    if (process.env.CI)
      throw new Error(
        "CI needs redis-server for the shared rate-limit suites, and none is installed (.ci/run installs it)",
      );
    process.stderr.write("\n[gatehouse] redis-server not found: shared rate-limit suites are skipped\n");
    project.provide("redisUrl", "");
    return;
  }
  const redis = await startRedis();
  project.provide("redisUrl", redis.url);
  return () => redis.stop();
}
