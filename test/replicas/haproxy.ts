import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { type AddressInfo, connect, createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** Debian's HAProxy (.ci/run installs it). */
export const HAPROXY_BIN = process.env.GATEHOUSE_HAPROXY ?? "/usr/sbin/haproxy";

/**
 * The path HAProxy health-checks on every replica: `/readyz` answers 200 only while the replica can serve a
 * call (its store and the issuer's keys), so the proxy stops sending to a replica that lost its database,
 * not only to one that died. (`/healthz` would say only that the process answers.)
 */
export const HEALTH_PATH = "/readyz";

/** The response header the proxy adds naming the replica that served (or failed) a request. */
export const REPLICA_HEADER = "x-gatehouse-replica";

export interface Backend {
  /** The route's name (a server name, e.g. `order-lookup`): one frontend and one backend each. */
  name: string;
  /** The loopback port clients reach this route on. */
  port: number;
  /** Replicas by name (`order-lookup-1`), each on a loopback port. */
  replicas: Array<{ name: string; port: number }>;
}

/**
 * An HAProxy configuration for replicated Gatehouse servers, on loopback only: one frontend per server
 * route (every server serves `/mcp`, so routes are told apart by port), round-robin over its replicas,
 * each health-checked with `GET HEALTH_PATH` every 500 ms (down after 3 failures, up after 1 success). A
 * check may take 3 s: a replica that is busy, or starved of CPU on a loaded machine, answers late and is not
 * dead (with a 1 s check the proxy once marked all three replicas DOWN at a load of 20 on 2 cores and
 * answered 503). A dead replica refuses the connection and fails its checks at once: DOWN within ~1.5 s.
 *
 * Retries are safe here, and only because of what they cover: `retry-on conn-failure` retries a request
 * only when the connection to a replica could not be made and the request was never sent, and
 * `option redispatch 1` sends each such retry to another replica. A request that reached a replica is
 * never retried (no `empty-response`, `response-timeout` or status retries): a `tools/call` POST retried
 * after a replica may have executed it would be a duplicate write (a second Jira issue, a second audit
 * intent). Such a request fails to the client with a 502 instead, and the client decides.
 *
 * `connections`: by default (`keep-alive`) HAProxy keeps connections open on both sides. When a replica dies
 * under a request that was not the first on its client connection, HAProxy answers nothing (and logs
 * nothing): it closes the client's connection as a server ending a keep-alive connection would, so that a
 * browser retries an idempotent request. The client then cannot be told which replica failed it.
 * `per-request` closes both connections after every response (`option httpclose`, `http-reuse never`), so
 * each request is the first on fresh connections and every failure is a 502 naming its replica: the fault
 * suite uses it to attribute each failed call; the bench keeps the default.
 */
export function haproxyConfig(opts: {
  backends: Backend[];
  statsSocket: string;
  connections?: "keep-alive" | "per-request";
}): string {
  const lines = [
    "global",
    "  maxconn 4096",
    `  stats socket ${opts.statsSocket} mode 600 level admin`,
    ...(process.env.GATEHOUSE_HAPROXY_LOG ? ["  log stderr format raw local0"] : []),
    "",
    "defaults",
    "  mode http",
    ...(process.env.GATEHOUSE_HAPROXY_LOG ? ["  log global", "  option httplog"] : []),
    "  timeout connect 1s",
    "  timeout client 60s",
    "  timeout server 60s",
    "  timeout check 3s",
    "  retries 3",
    "  retry-on conn-failure",
    "  option redispatch 1",
    "",
  ];
  for (const b of opts.backends) {
    lines.push(
      `frontend ${b.name}`,
      `  bind 127.0.0.1:${b.port}`,
      `  default_backend ${b.name}`,
      ...(opts.connections === "per-request" ? ["  option httpclose"] : []),
      "",
      `backend ${b.name}`,
      "  balance roundrobin",
      ...(opts.connections === "per-request" ? ["  http-reuse never", "  option httpclose"] : []),
      "  option httpchk",
      // HTTP/1.1 with a Host header: the servers refuse requests naming no host they serve.
      `  http-check send meth GET uri ${HEALTH_PATH} ver HTTP/1.1 hdr host 127.0.0.1`,
      "  http-check expect status 200",
      // On every answer, its own 502s included: which replica it came from (for the failure accounting).
      `  http-after-response set-header ${REPLICA_HEADER} %s`,
      ...b.replicas.map((r) => `  server ${r.name} 127.0.0.1:${r.port} check inter 500ms fall 3 rise 1`),
      "",
    );
  }
  return lines.join("\n");
}

export interface RunningHaproxy {
  /** `http://127.0.0.1:<port>/mcp` for each route. */
  urlOf(route: string): string;
  /** Each replica's state as HAProxy sees it (`UP`, `DOWN`, …), keyed `route/replica`. */
  states(): Promise<Map<string, string>>;
  /** Resolves once every replica of every route is `UP` (or each named one is `DOWN`, when asked). */
  waitFor(predicate: (states: Map<string, string>) => boolean, timeoutMs?: number): Promise<void>;
  stderr(): string;
  stop(): Promise<void>;
}

/**
 * Starts `haproxy -f <cfg> -db` (foreground) for the backends, and waits until every replica is UP (or until
 * `settled` holds, for a suite that starts a replica meant to stay DOWN).
 */
export async function startHaproxy(
  backends: Backend[],
  opts: {
    connections?: "keep-alive" | "per-request";
    settled?: (states: Map<string, string>) => boolean;
  } = {},
): Promise<RunningHaproxy> {
  const dir = mkdtempSync(join(tmpdir(), "gatehouse-haproxy-"));
  const statsSocket = join(dir, "admin.sock");
  const cfg = join(dir, "haproxy.cfg");
  writeFileSync(cfg, haproxyConfig({ backends, statsSocket, connections: opts.connections }));
  const child: ChildProcess = spawn(HAPROXY_BIN, ["-f", cfg, "-db"], { stdio: ["ignore", "ignore", "pipe"] });
  let log = "";
  child.stderr!.setEncoding("utf8");
  child.stderr!.on("data", (c: string) => {
    log = (log + c).slice(-32 * 1024);
    if (process.env.GATEHOUSE_HAPROXY_LOG) process.stderr.write(c);
  });
  const exited = once(child, "exit");
  const states = async () => parseStat(await adminCommand(statsSocket, "show stat"));
  const running: RunningHaproxy = {
    urlOf(route) {
      const b = backends.find((x) => x.name === route);
      if (!b) throw new Error(`no route ${route}`);
      return `http://127.0.0.1:${b.port}/mcp`;
    },
    states,
    async waitFor(predicate, timeoutMs = 15_000) {
      const until = Date.now() + timeoutMs;
      let last = new Map<string, string>();
      for (;;) {
        if (child.exitCode !== null) throw new Error(`haproxy exited (${child.exitCode}):\n${log}`);
        try {
          last = await states();
          if (predicate(last)) return;
        } catch {
          // The socket is not there yet.
        }
        if (Date.now() > until)
          throw new Error(
            `haproxy: replicas not in the expected state: ${JSON.stringify([...last])}\n${log}`,
          );
        await new Promise((r) => setTimeout(r, 100));
      }
    },
    stderr: () => log,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill("SIGTERM");
        await exited;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
  try {
    await running.waitFor(opts.settled ?? ((s) => s.size > 0 && [...s.values()].every((v) => v === "UP")));
  } catch (err) {
    await running.stop();
    throw err;
  }
  return running;
}

/** One command on HAProxy's admin socket; the answer as text. */
function adminCommand(socket: string, command: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const c = connect(socket);
    let out = "";
    c.setEncoding("utf8");
    c.on("data", (d: string) => {
      out += d;
    });
    c.on("error", reject);
    c.on("end", () => resolve(out));
    c.on("connect", () => c.write(`${command}\n`));
  });
}

/** `show stat` CSV → `backend/server` → status, for the servers (not the FRONTEND/BACKEND rows). */
function parseStat(csv: string): Map<string, string> {
  const lines = csv.split("\n").filter(Boolean);
  const header = (lines[0] ?? "").replace(/^# /, "").split(",");
  const px = header.indexOf("pxname");
  const sv = header.indexOf("svname");
  const st = header.indexOf("status");
  const out = new Map<string, string>();
  for (const line of lines.slice(1)) {
    const f = line.split(",");
    if (f[sv] === "FRONTEND" || f[sv] === "BACKEND") continue;
    out.set(`${f[px]}/${f[sv]}`, (f[st] ?? "").split(" ")[0]!);
  }
  return out;
}

/** A free loopback port (another process can take it before it is bound: callers start at once). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address() as AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}
