/**
 * `pnpm bench sqlite`: the SQLite driver choice, better-sqlite3 (what the store uses) against Node's
 * built-in `node:sqlite` (DatabaseSync), on the work the store does per governed call:
 *
 * - audit append: BEGIN IMMEDIATE, read the chain head, hash the new row onto it, insert, COMMIT (WAL,
 *   synchronous=NORMAL, as the store opens its file); one event per transaction, and 16 per transaction
 *   (how group commit writes concurrent calls' events).
 * - point read: one row by primary key, as kill-switch and approval lookups do.
 * - idle RSS of a process that has loaded the driver and opened the database.
 *
 * Each driver runs in its own child process (`node test/bench/sqlite-choice.ts --engine <name>`), so
 * neither's memory or JIT state leaks into the other's figures; the same statements are prepared once
 * and reused by both (the store caches its prepared statements too).
 */
import { spawn } from "node:child_process";
import { createHash, randomUUID } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { fmt, median } from "./common.ts";

type Engine = "better-sqlite3" | "node:sqlite";
const ENGINES: Engine[] = ["better-sqlite3", "node:sqlite"];

/** The calls the workload needs, as both drivers spell them. */
interface Driver {
  exec(sql: string): void;
  prepare(sql: string): {
    run(...params: unknown[]): unknown;
    get(...params: unknown[]): unknown;
  };
}

interface Result {
  engine: Engine;
  version: string;
  idleRssMb: number;
  /** RSS the driver added: after loading it and opening the database, minus before. */
  driverRssMb: number;
  appendPerSec: number;
  batchedAppendPerSec: number;
  readPerSec: number;
}

function rssMb(): number {
  try {
    const kb = /VmRSS:\s+(\d+)\s+kB/.exec(readFileSync("/proc/self/status", "utf8"));
    if (kb) return Number(kb[1]) / 1024;
  } catch {
    // Not Linux: fall back to Node's own figure.
  }
  return process.memoryUsage.rss() / 1024 / 1024;
}

function open(engine: Engine, file: string): { db: Driver; version: string } {
  const require = createRequire(import.meta.url);
  if (engine === "better-sqlite3") {
    // Resolved from the store package, which depends on it (the repository root does not).
    const storeRequire = createRequire(
      join(fileURLToPath(new URL("../../packages/store/package.json", import.meta.url))),
    );
    const Database = storeRequire("better-sqlite3") as new (
      f: string,
    ) => Driver & { pragma(s: string): void };
    const db = new Database(file);
    const version = (storeRequire("better-sqlite3/package.json") as { version: string }).version;
    return { db, version };
  }
  const { DatabaseSync } = require("node:sqlite") as { DatabaseSync: new (f: string) => Driver };
  return {
    db: new DatabaseSync(file),
    version: `Node ${process.versions.node} (SQLite ${process.versions.sqlite})`,
  };
}

/** The measured workload, in this process, for one engine: prints its Result as JSON on stdout. */
function runEngine(engine: Engine, quick: boolean): void {
  const dir = mkdtempSync(join(tmpdir(), "gatehouse-bench-sqlite-"));
  try {
    const before = rssMb();
    const { db, version } = open(engine, join(dir, "audit.db"));
    db.exec("PRAGMA journal_mode = WAL");
    db.exec("PRAGMA synchronous = NORMAL");
    db.exec("PRAGMA busy_timeout = 5000");
    db.exec(
      "CREATE TABLE audit_events (id TEXT PRIMARY KEY, seq INTEGER NOT NULL UNIQUE, ts TEXT NOT NULL, " +
        "type TEXT NOT NULL, detail TEXT NOT NULL, prev_hash TEXT NOT NULL, hash TEXT NOT NULL)",
    );
    const idleRssMb = rssMb();
    const driverRssMb = idleRssMb - before;

    const head = db.prepare("SELECT seq, hash FROM audit_events ORDER BY seq DESC LIMIT 1");
    const insert = db.prepare(
      "INSERT INTO audit_events (id, seq, ts, type, detail, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?)",
    );
    const byId = db.prepare("SELECT * FROM audit_events WHERE id = ?");
    const begin = db.prepare("BEGIN IMMEDIATE");
    const commit = db.prepare("COMMIT");
    const ids: string[] = [];
    const detail = JSON.stringify({ stage: "done", records: 1, bytes: 812, redactions: 0, pii: false });

    /** One transaction appending `n` chained events. */
    const appendBatch = (n: number) => {
      begin.run();
      const h = head.get() as { seq: number; hash: string } | undefined;
      let seq = h?.seq ?? 0;
      let prev = h?.hash ?? "0".repeat(64);
      for (let i = 0; i < n; i++) {
        const id = randomUUID();
        const ts = new Date().toISOString();
        seq++;
        const hash = createHash("sha256")
          .update(`${prev}\n${id}|${seq}|${ts}|tool.completed|${detail}`)
          .digest("hex");
        insert.run(id, seq, ts, "tool.completed", detail, prev, hash);
        prev = hash;
        ids.push(id);
      }
      commit.run();
    };

    const appends = quick ? 1000 : 4000;
    appendBatch(1); // warm the statements
    let t = performance.now();
    for (let i = 0; i < appends; i++) appendBatch(1);
    const appendPerSec = appends / ((performance.now() - t) / 1000);

    t = performance.now();
    for (let i = 0; i < appends / 16; i++) appendBatch(16);
    const batchedAppendPerSec = appends / ((performance.now() - t) / 1000);

    const reads = quick ? 20_000 : 100_000;
    t = performance.now();
    for (let i = 0; i < reads; i++) byId.get(ids[(i * 7919) % ids.length]);
    const readPerSec = reads / ((performance.now() - t) / 1000);

    const result: Result = {
      engine,
      version,
      idleRssMb,
      driverRssMb,
      appendPerSec,
      batchedAppendPerSec,
      readPerSec,
    };
    process.stdout.write(`${JSON.stringify(result)}\n`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function runChild(engine: Engine, quick: boolean): Promise<Result> {
  const self = fileURLToPath(import.meta.url);
  const child = spawn(process.execPath, [self, "--engine", engine, ...(quick ? ["--quick"] : [])], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout.setEncoding("utf8").on("data", (c: string) => {
    stdout += c;
  });
  child.stderr.setEncoding("utf8").on("data", (c: string) => {
    stderr += c;
  });
  return new Promise((resolve, reject) => {
    child.once("exit", (code) => {
      if (code === 0) resolve(JSON.parse(stdout) as Result);
      else reject(new Error(`${engine} run exited with code ${code}: ${stderr.slice(-2000)}`));
    });
  });
}

export async function benchSqliteChoice(opts: {
  quick: boolean;
  progress(s: string): void;
  out(s: string): void;
}): Promise<void> {
  const rounds = opts.quick ? 1 : 3;
  const results = new Map<Engine, Result[]>(ENGINES.map((e) => [e, []]));
  for (let r = 0; r < rounds; r++) {
    // Alternate which driver goes first, as the other sections alternate servers.
    for (const engine of r % 2 ? [...ENGINES].reverse() : ENGINES) {
      opts.progress(`sqlite choice: ${engine} (round ${r + 1}/${rounds})`);
      results.get(engine)!.push(await runChild(engine, opts.quick));
    }
  }
  opts.out("\n");
  opts.out(
    `SQLite driver · median of ${rounds} child process${rounds > 1 ? "es" : ""} per driver · WAL, ` +
      "synchronous=NORMAL · append = BEGIN IMMEDIATE, read chain head, sha256, insert, COMMIT\n\n",
  );
  opts.out(
    "| driver         | version                            | append/s (1 per txn) | append/s (16 per txn) | point reads/s | idle RSS MB | driver's share MB |\n",
  );
  opts.out(
    "|----------------|------------------------------------|---------------------:|----------------------:|--------------:|------------:|------------------:|\n",
  );
  for (const engine of ENGINES) {
    const rs = results.get(engine)!;
    const m = (f: (r: Result) => number) => median(rs.map(f));
    opts.out(
      `| ${engine.padEnd(14)} | ${rs[0]!.version.padEnd(34)} | ${fmt(
        m((r) => r.appendPerSec),
        0,
        20,
      )} |` +
        ` ${fmt(
          m((r) => r.batchedAppendPerSec),
          0,
          21,
        )} | ${fmt(
          m((r) => r.readPerSec),
          0,
          13,
        )} |` +
        ` ${fmt(
          m((r) => r.idleRssMb),
          1,
          11,
        )} | ${fmt(
          m((r) => r.driverRssMb),
          1,
          17,
        )} |\n`,
    );
  }
}

// As a child: `--engine <name>` runs one driver's workload and prints its result.
const engineArg = process.argv.indexOf("--engine");
if (engineArg >= 0) {
  const engine = process.argv[engineArg + 1] as Engine;
  if (!ENGINES.includes(engine)) {
    process.stderr.write(`unknown engine ${engine}; one of ${ENGINES.join(", ")}\n`);
    process.exit(2);
  }
  runEngine(engine, process.argv.includes("--quick"));
}
