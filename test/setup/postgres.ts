import { execFileSync, spawnSync } from "node:child_process";
import { chmodSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { type AddressInfo, createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TestProject } from "vitest/node";

declare module "vitest" {
  export interface ProvidedContext {
    /** Admin URL of the throwaway PostgreSQL cluster, or "" when none could be started. */
    pgAdminUrl: string;
  }
}

/**
 * Starts a throwaway PostgreSQL cluster on loopback for the store-matrix suites, or uses
 * GATEHOUSE_TEST_PG_URL. Without PostgreSQL, local runs cover SQLite only; CI must have it.
 */
export default async function setup(project: TestProject) {
  if (process.env.GATEHOUSE_TEST_PG_URL) {
    project.provide("pgAdminUrl", process.env.GATEHOUSE_TEST_PG_URL);
    return;
  }
  const bin = findPgBin();
  if (!bin) {
    if (process.env.CI)
      throw new Error(
        "CI needs PostgreSQL for the store matrix, and none is installed (.ci/run installs it)",
      );
    process.stderr.write("\n[gatehouse] PostgreSQL not found: store suites run on SQLite only\n");
    project.provide("pgAdminUrl", "");
    return;
  }
  const dir = mkdtempSync(join(tmpdir(), "gatehouse-pg-"));
  const data = join(dir, "data");
  const asPostgres = process.getuid?.() === 0 ? ["runuser", "-u", "postgres", "--"] : [];
  if (asPostgres.length) {
    chmodSync(dir, 0o777);
  }
  const run = (cmd: string, args: string[]) => {
    const full = [...asPostgres, cmd, ...args];
    execFileSync(full[0]!, full.slice(1), { stdio: ["ignore", "ignore", "pipe"] });
  };
  run(join(bin, "initdb"), ["-D", data, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync"]);
  let port = 0;
  for (let attempt = 1; ; attempt++) {
    port = await freePort();
    try {
      const opts = `-c listen_addresses=127.0.0.1 -p ${port} -k ${dir} -c fsync=off -c max_connections=200`;
      run(join(bin, "pg_ctl"), ["-D", data, "-o", opts, "-w", "-l", join(dir, "log"), "start"]);
      break;
    } catch (err) {
      // Another process can take the port between the probe and PostgreSQL's bind: try another.
      if (attempt >= 3) {
        throw new Error(`PostgreSQL did not start: ${readFileSync(join(dir, "log"), "utf8").slice(-800)}`, {
          cause: err,
        });
      }
    }
  }
  project.provide("pgAdminUrl", `postgres://postgres@127.0.0.1:${port}/postgres`);
  return () => {
    const full = [...asPostgres, join(bin, "pg_ctl"), "-D", data, "-m", "immediate", "-w", "stop"];
    spawnSync(full[0]!, full.slice(1), { stdio: "ignore" });
    rmSync(dir, { recursive: true, force: true });
  };
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

function findPgBin(): string | undefined {
  const root = "/usr/lib/postgresql";
  if (!existsSync(root)) return undefined;
  const versions = readdirSync(root).sort((a, b) => Number(b) - Number(a));
  for (const v of versions) if (existsSync(join(root, v, "bin", "initdb"))) return join(root, v, "bin");
  return undefined;
}
