import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { type Namespaces, run } from "./namespaces.ts";

/**
 * The tunnel: OpenSSH from Debian. An sshd in *edge* is the tunnel's far end; `ssh -R` from *private* dials
 * out to it and asks it to listen on the edge's loopback (where the edge's TLS terminator hands connections
 * on, see edge-tls.ts) and carry every connection back to the front door on private's loopback. Nothing in
 * private listens on anything but loopback.
 *
 * Keys are throwaway (made here, in the suite's temp dir). The tunnel's key may do exactly one thing:
 * `restrict,port-forwarding,permitlisten=` in authorized_keys, plus the same limits in sshd_config.
 */
export interface TunnelEnds {
  /** Where sshd listens, in edge, on the side private can reach. */
  sshd: { host: string; port: number };
  /** Where the tunnel listens, in edge (its loopback: the TLS terminator in front of it is the public end). */
  listen: { host: string; port: number };
  /** Where it leads, on private's loopback: the front door. */
  target: { host: string; port: number };
}

function keygen(file: string) {
  run("/usr/bin/ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "gatehouse-tunnel-test", "-f", file]);
  return readFileSync(`${file}.pub`, "utf8").trim();
}

/** Waits until `pattern` appears in a child's stderr; rejects if it exits first or `timeoutMs` passes. */
function waitForLine(
  child: ChildProcess,
  log: () => string,
  pattern: RegExp,
  what: string,
  timeoutMs: number,
) {
  return new Promise<void>((resolve, reject) => {
    const timer = setTimeout(
      () => finish(new Error(`${what} not ready in ${timeoutMs} ms:\n${log()}`)),
      timeoutMs,
    );
    const onData = () => {
      if (pattern.test(log())) finish();
    };
    const onExit = (code: number | null) =>
      finish(new Error(`${what} exited (${code}) before it was ready:\n${log()}`));
    const finish = (err?: Error) => {
      clearTimeout(timer);
      child.stderr!.off("data", onData);
      child.off("exit", onExit);
      if (err) reject(err);
      else resolve();
    };
    child.stderr!.on("data", onData);
    child.once("exit", onExit);
    onData();
  });
}

function spawnLogged(cmd: string[]) {
  const child = spawn(cmd[0]!, cmd.slice(1), { stdio: ["ignore", "ignore", "pipe"] });
  let log = "";
  child.stderr!.setEncoding("utf8");
  child.stderr!.on("data", (c: string) => {
    log = (log + c).slice(-32 * 1024);
  });
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = once(child, "exit");
    child.kill("SIGKILL");
    await exited;
  };
  return { child, log: () => log, stop };
}

export interface RunningSshd {
  log(): string;
  stop(): Promise<void>;
}

/** Keys, config and an sshd (foreground, logging to stderr) in edge. */
export async function startSshd(ns: Namespaces, dir: string, ends: TunnelEnds): Promise<RunningSshd> {
  mkdirSync(dir, { recursive: true });
  // sshd refuses to start without its privilege-separation directory (Debian's service would create it).
  mkdirSync("/run/sshd", { recursive: true, mode: 0o755 });
  const hostKey = join(dir, "host_ed25519");
  const hostPub = keygen(hostKey);
  const userPub = keygen(join(dir, "tunnel_ed25519"));
  const listen = `${ends.listen.host}:${ends.listen.port}`;
  writeFileSync(
    join(dir, "authorized_keys"),
    `restrict,port-forwarding,permitlisten="${listen}" ${userPub}\n`,
    { mode: 0o600 },
  );
  writeFileSync(join(dir, "known_hosts"), `[${ends.sshd.host}]:${ends.sshd.port} ${hostPub}\n`);
  const config = join(dir, "sshd_config");
  writeFileSync(
    config,
    [
      `ListenAddress ${ends.sshd.host}:${ends.sshd.port}`,
      `HostKey ${hostKey}`,
      "PidFile none",
      `AuthorizedKeysFile ${join(dir, "authorized_keys")}`,
      "AuthenticationMethods publickey",
      "PasswordAuthentication no",
      "KbdInteractiveAuthentication no",
      "UsePAM no",
      "StrictModes no",
      "PermitRootLogin prohibit-password",
      "AllowUsers root",
      // Remote forwards only, and only this one listener (on the edge's loopback, behind its TLS).
      "AllowTcpForwarding remote",
      "GatewayPorts no",
      `PermitListen ${listen}`,
      "AllowAgentForwarding no",
      "X11Forwarding no",
      "PermitTTY no",
      // A tunnel whose agent vanished is noticed within seconds, and its listener freed for the next one.
      "ClientAliveInterval 2",
      "ClientAliveCountMax 2",
      "LogLevel VERBOSE",
      "",
    ].join("\n"),
  );
  const sshd = spawnLogged([...ns.exec(ns.edge), "/usr/sbin/sshd", "-D", "-e", "-f", config]);
  try {
    await waitForLine(sshd.child, sshd.log, /Server listening on/, "sshd in edge", 10_000);
  } catch (e) {
    await sshd.stop();
    throw e;
  }
  return { log: sshd.log, stop: sshd.stop };
}

/**
 * The tunnel's agent in private: `ssh -N -R` to the edge's sshd, restarted whenever it exits (as a real
 * tunnel agent reconnects by itself), until `stop`.
 */
export class TunnelAgent {
  private current?: ReturnType<typeof spawnLogged>;
  private stopped = false;
  private readonly waiters: Array<() => void> = [];
  /** How many times the tunnel came up. */
  connections = 0;
  private readonly cmd: string[];

  constructor(ns: Namespaces, dir: string, ends: TunnelEnds) {
    this.cmd = [
      ...ns.exec(ns.private),
      "/usr/bin/ssh",
      "-N",
      "-v",
      "-F",
      "/dev/null",
      "-i",
      join(dir, "tunnel_ed25519"),
      "-o",
      "IdentitiesOnly=yes",
      "-o",
      "BatchMode=yes",
      "-o",
      `UserKnownHostsFile=${join(dir, "known_hosts")}`,
      "-o",
      "StrictHostKeyChecking=yes",
      "-o",
      "ExitOnForwardFailure=yes",
      "-o",
      "ServerAliveInterval=2",
      "-o",
      "ServerAliveCountMax=2",
      "-p",
      String(ends.sshd.port),
      "-R",
      `${ends.listen.host}:${ends.listen.port}:${ends.target.host}:${ends.target.port}`,
      `root@${ends.sshd.host}`,
    ];
  }

  /** Starts the agent and resolves once the edge listens for it. */
  async start(): Promise<void> {
    const up = this.nextConnection(15_000);
    this.launch();
    await up;
  }

  private launch() {
    if (this.stopped) return;
    const ssh = spawnLogged(this.cmd);
    this.current = ssh;
    let up = false;
    ssh.child.stderr!.on("data", () => {
      // ssh -v says so once the edge has accepted the forward (and listens for it).
      if (up || !/remote forward success/.test(ssh.log())) return;
      up = true;
      this.connections++;
      for (const w of this.waiters.splice(0)) w();
    });
    // Reconnect after a short pause, as autossh or a vendor's connector would.
    ssh.child.once("exit", () => {
      if (!this.stopped) setTimeout(() => this.launch(), 300).unref();
    });
  }

  /** Resolves the next time the tunnel comes up. */
  nextConnection(timeoutMs: number): Promise<void> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`the tunnel did not come up in ${timeoutMs} ms:\n${this.log()}`)),
        timeoutMs,
      );
      this.waiters.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  /** The ssh process now carrying the tunnel. */
  get pid(): number | undefined {
    return this.current?.child.pid;
  }

  /** Kills the ssh process (SIGKILL: no goodbye to the edge); the agent reconnects by itself. */
  kill() {
    this.current?.child.kill("SIGKILL");
  }

  log(): string {
    return this.current?.log() ?? "";
  }

  async stop() {
    this.stopped = true;
    await this.current?.stop();
  }
}
