/**
 * The start-up section of `pnpm bench`: what a server costs before it serves a single call.
 *
 * - stdio cold start: spawn → tools/list answered, launched the way Claude Desktop launches a server
 *   (`node packages/cli/src/main.ts stdio <server> --user alice`), against the bare SDK server spawned the
 *   same way (`node test/bench/bare-server.ts stdio`). One unmeasured launch first creates the data dir's
 *   keys and orders database, as the first launch on a machine does; the median of the rest is reported.
 * - `pnpm start` to ready: spawn of `node packages/cli/src/main.ts start` → its "Gatehouse is running"
 *   banner, on a fresh data dir and an unusual port offset (so it never meets a developer's own start).
 * - idle RSS per server process: each server `gatehouse start` launched, read from /proc a few seconds
 *   after ready with no traffic; the bare server's idle RSS is read the same way.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { spawnHttpServer } from "@gatehouse/testing";
import { fmt, median } from "./common.ts";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const CLI = join(ROOT, "packages", "cli", "src", "main.ts");
const BARE_ENTRY = join(ROOT, "test", "bench", "bare-server.ts");

export const TARGET_RSS_MB = 80;
export const TARGET_COLD_START_MS = 400;
export const TARGET_START_READY_S = 8;

export interface StartupOptions {
  /** Measured launches per server (after one unmeasured first launch). */
  coldRuns: number;
  /** Servers to cold-start over stdio. */
  stdioServers: string[];
  /** GATEHOUSE_PORT_OFFSET for the bench's own `gatehouse start` and stdio stand-ins. */
  portOffset: number;
  /** Seconds to wait after ready before reading idle RSS. */
  settleSeconds: number;
  cleanups: Array<() => Promise<unknown>>;
  progress(s: string): void;
  out(s: string): void;
}

/** Resident set size of a live process in MB (Linux /proc; NaN elsewhere or once it has gone). */
export function rssMb(pid: number | undefined): number {
  if (!pid) return Number.NaN;
  try {
    const status = readFileSync(`/proc/${pid}/status`, "utf8");
    const kb = /VmRSS:\s+(\d+)\s+kB/.exec(status);
    return kb ? Number(kb[1]) / 1024 : Number.NaN;
  } catch {
    return Number.NaN;
  }
}

/** Direct children of a process (Linux /proc), for the servers `gatehouse start` spawned. */
function childrenOf(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, "utf8")
      .trim()
      .split(/\s+/)
      .filter(Boolean)
      .map(Number);
  } catch {
    return [];
  }
}

function commandLineOf(pid: number): string[] {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").filter(Boolean);
  } catch {
    return [];
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, "exit");
  child.kill("SIGTERM");
  const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
  await exited;
  clearTimeout(timer);
}

/**
 * Spawns `args` as an MCP stdio server, speaks initialize → tools/list over raw JSON-RPC (no client
 * library start-up in the measured path) and resolves with ms from spawn to the tools/list answer.
 */
async function coldStart(args: string[], env: NodeJS.ProcessEnv): Promise<{ ms: number; tools: number }> {
  const started = performance.now();
  const child = spawn(process.execPath, args, { cwd: ROOT, env, stdio: ["pipe", "pipe", "pipe"] });
  let stderr = "";
  child.stderr!.setEncoding("utf8");
  child.stderr!.on("data", (c: string) => {
    stderr = (stderr + c).slice(-8192);
  });
  const send = (m: unknown) => child.stdin!.write(`${JSON.stringify(m)}\n`);
  try {
    return await new Promise<{ ms: number; tools: number }>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`no tools/list answer within 30 s:\n${stderr}`)),
        30_000,
      );
      child.once("exit", (code) => {
        clearTimeout(timer);
        reject(new Error(`exited with code ${code} before answering tools/list:\n${stderr}`));
      });
      let buf = "";
      child.stdout!.setEncoding("utf8");
      child.stdout!.on("data", (c: string) => {
        buf += c;
        for (let i = buf.indexOf("\n"); i >= 0; i = buf.indexOf("\n")) {
          const line = buf.slice(0, i);
          buf = buf.slice(i + 1);
          const m = JSON.parse(line) as { id?: number; result?: { tools?: unknown[] }; error?: unknown };
          if (m.id === 1) {
            send({ jsonrpc: "2.0", method: "notifications/initialized" });
            send({ jsonrpc: "2.0", id: 2, method: "tools/list" });
          } else if (m.id === 2) {
            clearTimeout(timer);
            if (!m.result?.tools) reject(new Error(`tools/list failed: ${JSON.stringify(m.error)}`));
            else resolve({ ms: performance.now() - started, tools: m.result.tools.length });
          }
        }
      });
      send({
        jsonrpc: "2.0",
        id: 1,
        method: "initialize",
        params: {
          protocolVersion: "2025-06-18",
          capabilities: {},
          clientInfo: { name: "gatehouse-bench", version: "1.0.0" },
        },
      });
    });
  } finally {
    child.removeAllListeners("exit");
    child.stdin!.end();
    await stop(child);
  }
}

interface ColdRow {
  server: string;
  /** Shown instead of the default label. */
  label?: string;
  runs: number[];
  tools: number;
  error?: string;
}

interface StartResult {
  readyMs?: number;
  error?: string;
  rss: Array<{ server: string; mb: number }>;
}

/** `gatehouse start` on a fresh data dir: time to its ready banner, then each server's idle RSS. */
async function startToReady(dataDir: string, opts: StartupOptions): Promise<StartResult> {
  const started = performance.now();
  const child = spawn(process.execPath, [CLI, "start"], {
    cwd: ROOT,
    env: {
      ...process.env,
      GATEHOUSE_DATA_DIR: dataDir,
      GATEHOUSE_PORT_OFFSET: String(opts.portOffset),
      LOG_LEVEL: "warn",
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  opts.cleanups.push(() => stop(child));
  let stdout = "";
  let stderr = "";
  child.stderr!.setEncoding("utf8");
  child.stderr!.on("data", (c: string) => {
    stderr = (stderr + c).slice(-8192);
  });
  child.stdout!.setEncoding("utf8");
  try {
    const readyMs = await new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error("not ready within 120 s")), 120_000);
      child.once("exit", (code) => {
        clearTimeout(timer);
        reject(new Error(`exited with code ${code} before ready`));
      });
      child.stdout!.on("data", (c: string) => {
        stdout += c;
        // The banner's server table ends with a blank line; by then every server has announced it serves.
        if (/Gatehouse is running[\s\S]*\n\n/.test(stdout)) {
          clearTimeout(timer);
          resolve(performance.now() - started);
        }
      });
    });
    await sleep(opts.settleSeconds * 1000);
    const rss = childrenOf(child.pid!)
      .map((pid) => ({ pid, cmd: commandLineOf(pid) }))
      .filter((c) => c.cmd.some((a) => a.endsWith("src/main.ts")))
      .map((c) => {
        const entry = c.cmd.find((a) => a.endsWith("src/main.ts"))!;
        return { server: /servers\/([^/]+)\/src/.exec(entry)?.[1] ?? entry, mb: rssMb(c.pid) };
      });
    return { readyMs, rss };
  } catch (err) {
    return {
      error: `${(err as Error).message}; stderr tail: ${stderr.trim().split("\n").slice(-3).join(" | ")}`,
      rss: [],
    };
  } finally {
    child.removeAllListeners("exit");
    await stop(child);
  }
}

/** The bare SDK server's idle RSS over HTTP, read like the governed servers'. */
async function bareIdleRss(ordersDb: string, settleSeconds: number): Promise<number> {
  const server = await spawnHttpServer(BARE_ENTRY, { ORDERS_DATABASE_URL: `file:${ordersDb}` });
  try {
    await sleep(settleSeconds * 1000);
    return rssMb(server.process.pid);
  } finally {
    await server.stop();
  }
}

export async function benchStartup(opts: StartupOptions): Promise<void> {
  const { progress, out } = opts;
  const wallStart = performance.now();
  const dataDir = mkdtempSync(join(tmpdir(), "gatehouse-bench-startup-"));
  opts.cleanups.push(async () => rmSync(dataDir, { recursive: true, force: true }));
  const cliEnv: NodeJS.ProcessEnv = {
    ...process.env,
    GATEHOUSE_DATA_DIR: dataDir,
    GATEHOUSE_PORT_OFFSET: String(opts.portOffset),
    LOG_LEVEL: "warn",
  };

  const rows: ColdRow[] = [];
  for (const server of opts.stdioServers) {
    progress(`stdio cold start: ${server} (1 + ${opts.coldRuns} launches)`);
    const row: ColdRow = { server, runs: [], tools: 0 };
    try {
      // The first launch on a machine creates keys, the orders database and the store: not measured.
      await coldStart([CLI, "stdio", server, "--user", "alice"], cliEnv);
      for (let i = 0; i < opts.coldRuns; i++) {
        const r = await coldStart([CLI, "stdio", server, "--user", "alice"], cliEnv);
        row.runs.push(r.ms);
        row.tools = r.tools;
      }
    } catch (err) {
      row.error = (err as Error).message.split("\n")[0];
    }
    rows.push(row);
  }
  // The same launch with Node's compile cache on (as the server entry points turn it on for themselves):
  // what the CLI entry would gain by enabling it before it loads the server.
  const cached: ColdRow = {
    server: opts.stdioServers[0]!,
    label: `  same, NODE_COMPILE_CACHE set (${opts.stdioServers[0]})`,
    runs: [],
    tools: 0,
  };
  try {
    const env = { ...cliEnv, NODE_COMPILE_CACHE: join(dataDir, "compile-cache") };
    await coldStart([CLI, "stdio", cached.server, "--user", "alice"], env);
    for (let i = 0; i < opts.coldRuns; i++)
      cached.runs.push((await coldStart([CLI, "stdio", cached.server, "--user", "alice"], env)).ms);
  } catch (err) {
    cached.error = (err as Error).message.split("\n")[0];
  }
  rows.push(cached);
  progress(`stdio cold start: bare SDK server (1 + ${opts.coldRuns} launches)`);
  const ordersDb = join(dataDir, "orders.db");
  const bareEnv = { ...process.env, ORDERS_DATABASE_URL: `file:${ordersDb}` };
  const bare: ColdRow = { server: "bare SDK server", runs: [], tools: 0 };
  try {
    await coldStart([BARE_ENTRY, "stdio"], bareEnv);
    for (let i = 0; i < opts.coldRuns; i++)
      bare.runs.push((await coldStart([BARE_ENTRY, "stdio"], bareEnv)).ms);
  } catch (err) {
    bare.error = (err as Error).message.split("\n")[0];
  }

  progress("`gatehouse start` to ready, then idle RSS of each server");
  const startDir = mkdtempSync(join(tmpdir(), "gatehouse-bench-start-"));
  opts.cleanups.push(async () => rmSync(startDir, { recursive: true, force: true }));
  const start = await startToReady(startDir, opts);
  let bareRss = Number.NaN;
  try {
    bareRss = await bareIdleRss(ordersDb, opts.settleSeconds);
  } catch (err) {
    progress(`bare server RSS not measured: ${(err as Error).message.split("\n")[0]}`);
  }

  const elapsed = (performance.now() - wallStart) / 1000;
  out("\n");
  out(
    `Start-up · Node ${process.versions.node} · median of ${opts.coldRuns} launches after one unmeasured ` +
      `first launch · ${elapsed.toFixed(1)} s\n\n`,
  );
  const bareMs = bare.runs.length ? median(bare.runs) : Number.NaN;
  out("| stdio cold start (spawn → tools/list)      | median ms | min ms | max ms | target ms | vs bare |\n");
  out("|--------------------------------------------|----------:|-------:|-------:|----------:|--------:|\n");
  for (const r of [...rows, bare]) {
    const label =
      r.label ??
      (r === bare ? "node test/bench/bare-server.ts stdio" : `gatehouse stdio ${r.server} --user alice`);
    if (r.error) {
      out(`| ${label.padEnd(42)} | failed: ${r.error.slice(0, 120)} |\n`);
      continue;
    }
    const m = median(r.runs);
    const target = r === bare ? "" : `≤ ${TARGET_COLD_START_MS}`;
    const verdict = r === bare ? "" : m <= TARGET_COLD_START_MS ? " ✓" : " ✗";
    out(
      `| ${label.padEnd(42)} | ${fmt(m, 0, 9)} | ${fmt(Math.min(...r.runs), 0, 6)} | ${fmt(Math.max(...r.runs), 0, 6)} |` +
        ` ${`${target}${verdict}`.padStart(9)} | ${fmt(m / bareMs, 2, 6)}× |\n`,
    );
  }
  out("\n");
  out("| `gatehouse start` → ready | seconds | target s |\n");
  out("|---------------------------|--------:|---------:|\n");
  if (start.readyMs === undefined) out(`| failed: ${start.error} |\n`);
  else {
    const s = start.readyMs / 1000;
    out(
      `| issuer, stand-ins, servers | ${fmt(s, 2, 7)} | ${`≤ ${TARGET_START_READY_S}${s <= TARGET_START_READY_S ? " ✓" : " ✗"}`.padStart(8)} |\n`,
    );
  }
  out("\n");
  out(`| idle RSS per server process (${opts.settleSeconds} s after ready) | MB | target MB | vs bare |\n`);
  out("|----------------------------------------------|------:|----------:|--------:|\n");
  for (const r of start.rss) {
    out(
      `| ${r.server.padEnd(44)} | ${fmt(r.mb, 1, 5)} | ${`≤ ${TARGET_RSS_MB}${r.mb <= TARGET_RSS_MB ? " ✓" : " ✗"}`.padStart(9)} |` +
        ` ${fmt(r.mb / bareRss, 2, 6)}× |\n`,
    );
  }
  out(
    `| ${"bare SDK server (http)".padEnd(44)} | ${fmt(bareRss, 1, 5)} | ${"".padStart(9)} |${"".padStart(9)}|\n`,
  );
  out("\nA measurement, not a pass/fail test: ✓/✗ only say which side of the target this run fell.\n");
}
