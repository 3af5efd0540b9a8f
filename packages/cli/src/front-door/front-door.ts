import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { once } from "node:events";
import { mkdirSync, writeFileSync } from "node:fs";
import { connect } from "node:net";
import { join } from "node:path";
import { type FrontDoorOptions, frontDoorConfig } from "./haproxy-config.ts";

/** Debian's HAProxy (`apt-get install haproxy`); GATEHOUSE_HAPROXY points elsewhere. */
export const haproxyBin = (env: NodeJS.ProcessEnv = process.env) =>
  env.GATEHOUSE_HAPROXY || "/usr/sbin/haproxy";

export interface RunningFrontDoor {
  /** Where the door listens locally (`http://127.0.0.1:7180`): the tunnel connector's target. */
  localUrl: string;
  /** The generated configuration file. */
  configFile: string;
  process: ChildProcess;
  /** HAProxy's stderr so far (its warnings and errors). */
  stderr(): string;
  stop(): Promise<void>;
}

/**
 * Writes the front door's configuration into `dir`, checks it with `haproxy -c`, and runs HAProxy in the
 * foreground (`-db`) as a child of this process; resolves once the listener accepts connections.
 */
export async function startFrontDoor(
  opts: FrontDoorOptions & { dir: string; haproxy?: string },
): Promise<RunningFrontDoor> {
  const bin = opts.haproxy ?? haproxyBin();
  mkdirSync(opts.dir, { recursive: true });
  const configFile = join(opts.dir, "haproxy.cfg");
  writeFileSync(configFile, `${frontDoorConfig(opts)}\n`);
  const check = spawnSync(bin, ["-c", "-q", "-f", configFile], { encoding: "utf8" });
  if (check.error)
    throw new Error(
      `the front door needs HAProxy at ${bin} (apt-get install haproxy, or set GATEHOUSE_HAPROXY): ${check.error.message}`,
    );
  if (check.status !== 0)
    throw new Error(`HAProxy refused the generated ${configFile}:\n${check.stderr || check.stdout}`);

  const child = spawn(bin, ["-f", configFile, "-db"], { stdio: ["ignore", "ignore", "pipe"] });
  let log = "";
  child.stderr!.setEncoding("utf8");
  child.stderr!.on("data", (c: string) => {
    log = (log + c).slice(-16 * 1024);
  });
  const exited = once(child, "exit");
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill("SIGTERM");
      await exited;
    }
  };
  const host = opts.listenHost.includes(":") ? `[${opts.listenHost}]` : opts.listenHost;
  const until = Date.now() + 10_000;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null)
      throw new Error(
        `the front door (HAProxy) exited at start (${child.exitCode ?? child.signalCode}):\n${log}`,
      );
    if (await accepts(opts.listenHost, opts.listenPort)) break;
    if (Date.now() > until) {
      await stop();
      throw new Error(`the front door did not listen on ${host}:${opts.listenPort} within 10 s:\n${log}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    localUrl: `http://${host}:${opts.listenPort}`,
    configFile,
    process: child,
    stderr: () => log,
    stop,
  };
}

function accepts(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ host, port });
    s.once("connect", () => {
      s.destroy();
      resolve(true);
    });
    s.once("error", () => resolve(false));
  });
}
