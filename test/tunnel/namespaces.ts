import { spawn, spawnSync } from "node:child_process";
import { accessSync, constants } from "node:fs";

/**
 * Three network namespaces the tunnel suite builds with iproute2, as a small picture of a real deployment:
 *
 *   private (10.77.1.1) ── veth ── (10.77.1.2) edge (10.77.2.1) ── veth ── (10.77.2.2) agent
 *
 * *private* holds Gatehouse and the tunnel's agent and drops every inbound connection (nftables);
 * *edge* holds the tunnel's public end and routes between the two others (so a direct connection from the
 * agent into private is possible as far as routing goes: only the firewall stops it); *agent* holds the MCP
 * client. Names carry this process's pid, so a run that died is recognised and cleaned up by the next.
 */
export const PRIVATE_ADDR = "10.77.1.1";
export const EDGE_PRIVATE_SIDE = "10.77.1.2";
export const EDGE_PUBLIC_SIDE = "10.77.2.1";
export const AGENT_ADDR = "10.77.2.2";

const PREFIX = "ghtun";
const IP = "/usr/sbin/ip";
const NFT = "/usr/sbin/nft";
/** The nftables table in private, with a named counter of what it dropped. */
const TABLE = "gatehouse_inbound";

export interface Namespaces {
  private: string;
  edge: string;
  agent: string;
  /** The command prefix that runs something inside a namespace. */
  exec(ns: string): string[];
  /** Runs a command inside a namespace and returns its stdout (throws with its stderr when it fails). */
  runIn(ns: string, command: string[]): string;
}

/** Runs a command and returns its stdout; throws with its stderr when it fails. */
export function run(cmd: string, args: string[], input?: string): string {
  const r = spawnSync(cmd, args, { encoding: "utf8", input, timeout: 30_000 });
  if (r.error) throw new Error(`${cmd} ${args.join(" ")}: ${r.error.message}`);
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(" ")} exited ${r.status}: ${r.stderr.trim()}`);
  return r.stdout;
}

const executable = (path: string) => {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
};

/** Why this machine cannot run the suite, or undefined when it can. */
export function missingPrerequisite(): string | undefined {
  if (process.getuid?.() !== 0) return "it needs root (network namespaces, nftables, sshd)";
  for (const [bin, pkg] of [
    [IP, "iproute2"],
    [NFT, "nftables"],
    ["/usr/sbin/sshd", "openssh-server"],
    ["/usr/bin/ssh", "openssh-client"],
    ["/usr/bin/ssh-keygen", "openssh-client"],
    ["/usr/sbin/haproxy", "haproxy"],
    ["/usr/bin/openssl", "openssl"],
    ["/usr/bin/curl", "curl"],
  ] as const)
    if (!executable(bin)) return `${bin} is missing (apt-get install ${pkg})`;
  const probe = spawnSync(IP, ["netns", "list"], { encoding: "utf8" });
  if (probe.status !== 0) return `\`ip netns\` does not work here: ${probe.stderr.trim() || probe.error}`;
  return undefined;
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
};

/** Removes one namespace this suite made: first every process still in it, then the namespace (and its veths). */
function removeNamespace(name: string) {
  const pids = spawnSync(IP, ["netns", "pids", name], { encoding: "utf8" }).stdout ?? "";
  for (const pid of pids.split(/\s+/).filter(Boolean)) {
    try {
      process.kill(Number(pid), "SIGKILL");
    } catch {}
  }
  spawnSync(IP, ["netns", "del", name]);
}

/** Namespaces left by an earlier run of this suite whose process is gone (killed before its clean-up). */
export function removeStaleNamespaces() {
  const list = spawnSync(IP, ["netns", "list"], { encoding: "utf8" }).stdout ?? "";
  for (const line of list.split("\n")) {
    const m = new RegExp(`^(${PREFIX}(\\d+)-\\w+)`).exec(line);
    if (m && !alive(Number(m[2]))) removeNamespace(m[1]!);
  }
}

/** Builds the three namespaces, their links and routes. Call `destroy` in every case (it is idempotent). */
export function createNamespaces(): Namespaces & { destroy(): void } {
  const id = `${PREFIX}${process.pid}`;
  const ns = { private: `${id}-private`, edge: `${id}-edge`, agent: `${id}-agent` };
  // Interface names are at most 15 characters and live in the root namespace until moved.
  const short = `gt${process.pid % 100000}`;
  const destroy = () => {
    for (const name of [ns.agent, ns.edge, ns.private]) removeNamespace(name);
  };
  try {
    for (const name of Object.values(ns)) run(IP, ["netns", "add", name]);
    const link = (a: string, aNs: string, b: string, bNs: string) => {
      run(IP, ["link", "add", a, "type", "veth", "peer", "name", b]);
      run(IP, ["link", "set", a, "netns", aNs]);
      run(IP, ["link", "set", b, "netns", bNs]);
    };
    link(`${short}p`, ns.private, `${short}ep`, ns.edge);
    link(`${short}a`, ns.agent, `${short}ea`, ns.edge);
    const addr = (n: string, dev: string, cidr: string) => {
      run(IP, ["-n", n, "addr", "add", cidr, "dev", dev]);
      run(IP, ["-n", n, "link", "set", dev, "up"]);
    };
    for (const name of Object.values(ns)) run(IP, ["-n", name, "link", "set", "lo", "up"]);
    addr(ns.private, `${short}p`, `${PRIVATE_ADDR}/24`);
    addr(ns.edge, `${short}ep`, `${EDGE_PRIVATE_SIDE}/24`);
    addr(ns.edge, `${short}ea`, `${EDGE_PUBLIC_SIDE}/24`);
    addr(ns.agent, `${short}a`, `${AGENT_ADDR}/24`);
    run(IP, ["-n", ns.private, "route", "add", "default", "via", EDGE_PRIVATE_SIDE]);
    run(IP, ["-n", ns.agent, "route", "add", "default", "via", EDGE_PUBLIC_SIDE]);
    // The edge routes between them, so only private's own firewall keeps the agent out.
    run(IP, ["netns", "exec", ns.edge, "sysctl", "-qw", "net.ipv4.ip_forward=1"]);
  } catch (e) {
    destroy();
    throw e;
  }
  return {
    ...ns,
    exec: (n) => [IP, "netns", "exec", n],
    runIn: (n, command) => run(IP, ["netns", "exec", n, ...command]),
    destroy,
  };
}

/**
 * Private's firewall: every inbound packet that is not loopback or part of a connection private opened
 * itself is dropped (and counted). Outbound is left open: that is how the tunnel gets out.
 */
export function dropInbound(ns: Namespaces) {
  const rules = `table inet ${TABLE} {
  counter dropped { }
  chain input {
    type filter hook input priority filter; policy drop;
    iif "lo" accept
    ct state established,related accept
    counter name "dropped" drop
  }
}
`;
  run(IP, ["netns", "exec", ns.private, NFT, "-f", "-"], rules);
}

/** How many inbound packets private's firewall has dropped so far. */
export function droppedPackets(ns: Namespaces): number {
  const out = run(IP, ["netns", "exec", ns.private, NFT, "list", "counter", "inet", TABLE, "dropped"]);
  const m = /packets (\d+)/.exec(out);
  if (!m) throw new Error(`no packet count in:\n${out}`);
  return Number(m[1]);
}

export interface Probe {
  outcome: "connected" | "refused" | "timed out";
  ms: number;
}

/** Opens a TCP connection from inside `from` (bash's /dev/tcp under coreutils' timeout) and says how it went. */
export function probe(
  ns: Namespaces,
  from: string,
  host: string,
  port: number,
  timeoutS = 1.5,
): Promise<Probe> {
  const started = Date.now();
  const [cmd, ...prefix] = ns.exec(from);
  const child = spawn(
    cmd!,
    [...prefix, "timeout", String(timeoutS), "bash", "-c", `exec 3<>/dev/tcp/${host}/${port}`],
    { stdio: ["ignore", "ignore", "pipe"] },
  );
  let stderr = "";
  child.stderr.setEncoding("utf8");
  child.stderr.on("data", (c: string) => {
    stderr += c;
  });
  return new Promise((resolve, reject) => {
    child.once("error", reject);
    child.once("close", (status) => {
      const ms = Date.now() - started;
      if (status === 0) resolve({ outcome: "connected", ms });
      else if (status === 124) resolve({ outcome: "timed out", ms });
      else if (/refused/i.test(stderr)) resolve({ outcome: "refused", ms });
      else
        reject(new Error(`probe ${from} → ${host}:${port} failed oddly (exit ${status}): ${stderr.trim()}`));
    });
  });
}
