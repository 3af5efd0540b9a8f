import { execFile } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import {
  createServer,
  request as httpRequest,
  type IncomingHttpHeaders,
  type OutgoingHttpHeaders,
} from "node:http";
import { createRequire } from "node:module";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/** The spec revisions whose frozen requirement sets Gatehouse servers are held to. */
export const CONFORMANCE_REQUIREMENTS = ["2025-11-25", "2026-07-28"] as const;
export type ConformanceRequirements = (typeof CONFORMANCE_REQUIREMENTS)[number];

/** The MCP conformance CLI (0.2.x), resolved from the kit so any package can run it. */
export const CONFORMANCE_CLI = join(
  dirname(createRequire(import.meta.url).resolve("@modelcontextprotocol/conformance/package.json")),
  "dist",
  "index.js",
);

/** Where the expected-failures baselines live: one per requirement set, in the CLI's own format. */
export const EXPECTED_FAILURES_DIR = join(
  dirname(fileURLToPath(import.meta.url)),
  "..",
  "..",
  "..",
  "test",
  "conformance",
);

export function expectedFailuresFile(requirements: string): string {
  return join(EXPECTED_FAILURES_DIR, `expected-failures-${requirements}.yaml`);
}

// RFC 9110 §7.6.1: these describe one connection, not the message, so a forwarder must not relay them.
const HOP_BY_HOP = new Set([
  "connection",
  "keep-alive",
  "proxy-authenticate",
  "proxy-authorization",
  "proxy-connection",
  "te",
  "trailer",
  "transfer-encoding",
  "upgrade",
]);

function endToEnd(headers: IncomingHttpHeaders): OutgoingHttpHeaders {
  const out: OutgoingHttpHeaders = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value !== undefined && !HOP_BY_HOP.has(name)) out[name] = value;
  }
  return out;
}

export interface BearerProxy {
  /** The URL to give a client: the target's path on the proxy's loopback origin. */
  url: string;
  close(): Promise<void>;
}

/**
 * A loopback forwarder that adds `Authorization: Bearer <token>` to every request and otherwise relays
 * requests and responses unchanged, streaming (SSE included). It lets a client that cannot send a
 * bearer token (the conformance CLI) reach a server that still refuses unauthenticated calls: the
 * server is untouched, and the token is only ever on this machine's loopback interface.
 *
 * The Host header is relayed as the client sent it, so the server's own Host and Origin checks still
 * judge what the client sent (the dns-rebinding scenario relies on that).
 */
export async function startBearerProxy(opts: { target: string; token: string }): Promise<BearerProxy> {
  const target = new URL(opts.target);
  if (target.protocol !== "http:")
    throw new Error(`the bearer proxy forwards to http:// URLs, not ${target}`);
  const authorization = `Bearer ${opts.token}`;
  const server = createServer((req, res) => {
    const upstream = httpRequest(
      {
        hostname: target.hostname.replace(/^\[|\]$/g, ""),
        port: target.port || 80,
        method: req.method,
        path: req.url,
        // Whatever the client sent for authorization is replaced, never merged.
        headers: { ...endToEnd(req.headers), authorization },
      },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.statusMessage, endToEnd(answer.headers));
        // An SSE stream's headers (and priming event) must reach the client before the first message.
        res.flushHeaders();
        answer.pipe(res);
        answer.once("error", () => res.destroy());
      },
    );
    upstream.once("error", (err) => {
      if (res.headersSent) return res.destroy();
      res.writeHead(502, { "content-type": "application/json" });
      res.end(JSON.stringify({ error: "bad_gateway", error_description: `proxy: ${err.message}` }));
    });
    // A client that goes away (an SSE reader that is done) ends the upstream exchange too.
    res.once("close", () => {
      if (!res.writableFinished) upstream.destroy();
    });
    req.pipe(upstream);
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}${target.pathname}${target.search}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

export interface ConformanceCheck {
  id: string;
  name?: string;
  status: "SUCCESS" | "FAILURE" | "WARNING" | "SKIPPED" | "INFO" | string;
  description?: string;
  errorMessage?: string;
}

export interface ConformanceRun {
  requirements: string;
  /** The CLI's exit code: 0 when every failure is an expected one and no expected failure passed. */
  code: number;
  stdout: string;
  stderr: string;
  /** Each scenario's checks, as the CLI recorded them. */
  scenarios: Record<string, ConformanceCheck[]>;
}

/**
 * Runs the conformance CLI's server suite for one requirement set against `url`. Asynchronously, never
 * spawnSync: a test's sandbox issuer (serving the server's JWKS) may live in the calling process.
 */
export async function runConformance(opts: {
  url: string;
  requirements: string;
  /** A baseline in the CLI's format; the CLI then fails on unexpected failures and on stale entries. */
  expectedFailures?: string;
  timeoutMs?: number;
}): Promise<ConformanceRun> {
  const outputDir = mkdtempSync(join(tmpdir(), "gatehouse-conformance-"));
  const args = [
    CONFORMANCE_CLI,
    "server",
    "--url",
    opts.url,
    "--requirements",
    opts.requirements,
    "--output-dir",
    outputDir,
    ...(opts.expectedFailures ? ["--expected-failures", opts.expectedFailures] : []),
  ];
  try {
    const result = await new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
      execFile(
        process.execPath,
        args,
        { timeout: opts.timeoutMs ?? 300_000, maxBuffer: 32 * 1024 * 1024, env: cliEnv() },
        (error, stdout, stderr) => {
          const code = error ? (typeof error.code === "number" ? error.code : 1) : 0;
          resolve({ code, stdout, stderr: stderr || (error && !stdout ? error.message : stderr) });
        },
      );
    });
    return { requirements: opts.requirements, ...result, scenarios: readResults(outputDir) };
  } finally {
    rmSync(outputDir, { recursive: true, force: true });
  }
}

/** The CLI's environment without anything that would colour or reshape its output. */
function cliEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: "1", FORCE_COLOR: "0" };
  delete env.GATEHOUSE_CONFORMANCE_TOKEN;
  return env;
}

/** `<dir>/server-<scenario>-<timestamp>/checks.json` for every scenario the CLI ran. */
function readResults(dir: string): Record<string, ConformanceCheck[]> {
  const out: Record<string, ConformanceCheck[]> = {};
  const walk = (d: string) => {
    for (const entry of readdirSync(d, { withFileTypes: true })) {
      const path = join(d, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.name === "checks.json") {
        const scenario = scenarioOf(dirname(path).slice(dir.length + 1));
        out[scenario] = JSON.parse(readFileSync(path, "utf8")) as ConformanceCheck[];
      }
    }
  };
  walk(dir);
  return out;
}

function scenarioOf(folder: string): string {
  // server-<scenario>-<ISO timestamp with : and . replaced>
  return folder
    .split(/[\\/]/)
    .pop()!
    .replace(/^server-/, "")
    .replace(/-\d{4}-\d{2}-\d{2}T[\d-]+Z?$/, "");
}

/** What a baseline entry names: a whole scenario, or one of its checks. */
export interface ExpectedFailure {
  scenario: string;
  checkId?: string;
  reason: string;
  line: number;
}

/**
 * Reads an expected-failures file: the CLI's own YAML baseline (`server:` then `- <scenario>` or
 * `- <scenario>:<check-id>`), held to a stricter shape so every entry carries its reason as a trailing
 * `# comment`. Anything else is refused with the line it is on.
 */
export function readExpectedFailures(file: string): ExpectedFailure[] {
  const entries: ExpectedFailure[] = [];
  let inServer = false;
  const lines = readFileSync(file, "utf8").split(/\r?\n/);
  lines.forEach((text, i) => {
    const line = i + 1;
    if (/^\s*(#.*)?$/.test(text)) return;
    if (/^server:\s*(#.*)?$/.test(text)) {
      inServer = true;
      return;
    }
    const entry = /^\s+-\s+([A-Za-z0-9_./-]+)(?::([A-Za-z0-9_./-]+))?\s+#\s*(\S.*)$/.exec(text);
    if (!inServer || !entry)
      throw new Error(
        `${file}:${line}: expected "  - <scenario>[:<check-id>]  # <reason>" under "server:", got ${JSON.stringify(text)}`,
      );
    const [, scenario, checkId, reason] = entry;
    entries.push({ scenario: scenario!, checkId, reason: reason!.trim(), line });
  });
  const seen = new Set<string>();
  for (const e of entries) {
    const key = e.checkId ? `${e.scenario}:${e.checkId}` : e.scenario;
    if (seen.has(key)) throw new Error(`${file}:${e.line}: ${key} is listed twice`);
    seen.add(key);
  }
  for (const e of entries)
    if (e.checkId && seen.has(e.scenario))
      throw new Error(
        `${file}:${e.line}: ${e.scenario} is expected to fail whole, so its check entry is redundant`,
      );
  return entries;
}

// The CLI's baseline rule: a SHOULD the suite reports (WARNING) counts against a scenario like a failure.
const failing = (c: ConformanceCheck) => c.status === "FAILURE" || c.status === "WARNING";
const SEVERITY = ["FAILURE", "WARNING", "SUCCESS", "SKIPPED", "INFO"];
const severity = (status: string) => {
  const i = SEVERITY.indexOf(status);
  return i === -1 ? SEVERITY.length : i;
};

export interface BaselineVerdict {
  /** Failing (or warning) scenarios and checks the baseline does not list. */
  unexpected: string[];
  /** Listed entries that passed: the baseline is no longer true, remove them. */
  stale: string[];
  /** Listed entries for scenarios that did not run at all under this requirement set. */
  notRun: string[];
  /** Listed entries that failed, as the baseline says they would. */
  expected: string[];
}

/**
 * Compares a run with its baseline the way the conformance CLI does (per scenario, or per check with
 * repeated check ids collapsed most-severe first; a listed check that was absent or skipped is
 * tolerated), but over every scenario that ran, scored or not, so the file stays true for all of them.
 */
export function compareWithBaseline(
  scenarios: Record<string, ConformanceCheck[]>,
  baseline: ExpectedFailure[],
): BaselineVerdict {
  const verdict: BaselineVerdict = { unexpected: [], stale: [], notRun: [], expected: [] };
  const whole = new Set(baseline.filter((e) => !e.checkId).map((e) => e.scenario));
  const perCheck = new Map<string, Set<string>>();
  for (const e of baseline)
    if (e.checkId) perCheck.set(e.scenario, (perCheck.get(e.scenario) ?? new Set()).add(e.checkId));
  for (const e of baseline)
    if (!(e.scenario in scenarios))
      verdict.notRun.push(e.checkId ? `${e.scenario}:${e.checkId}` : e.scenario);

  for (const [scenario, checks] of Object.entries(scenarios)) {
    if (whole.has(scenario)) {
      (checks.some(failing) ? verdict.expected : verdict.stale).push(scenario);
      continue;
    }
    const listed = perCheck.get(scenario) ?? new Set<string>();
    const byId = new Map<string, ConformanceCheck>();
    for (const c of checks) {
      const seen = byId.get(c.id);
      if (!seen || severity(c.status) < severity(seen.status)) byId.set(c.id, c);
    }
    for (const c of byId.values())
      if (failing(c)) (listed.has(c.id) ? verdict.expected : verdict.unexpected).push(`${scenario}:${c.id}`);
    for (const id of listed) if (byId.get(id)?.status === "SUCCESS") verdict.stale.push(`${scenario}:${id}`);
  }
  return verdict;
}

/** The failing checks of a run, with their messages, for a reader who has to fix them. */
export function describeChecks(scenarios: Record<string, ConformanceCheck[]>, keys: string[]): string {
  return keys
    .map((key) => {
      const [scenario, checkId] = key.split(":");
      const checks = (scenarios[scenario!] ?? []).filter((c) => (checkId ? c.id === checkId : failing(c)));
      const why = checks.map((c) => `${c.status}: ${c.errorMessage ?? c.description ?? ""}`).join("; ");
      return `  ${key}${why ? ` — ${why}` : ""}`;
    })
    .join("\n");
}
