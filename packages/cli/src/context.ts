import { AuditLog, KillSwitches } from "@gatehouse/governance";
import { defaultDataDir, migrateToLatest, openStore, type Store } from "@gatehouse/store";
import { sandboxPort } from "./ports.ts";

/** What every command shares: where local state lives and which store to use. */
export interface CliContext {
  dataDir: string;
  databaseUrl?: string;
  issuer: string;
}

export function cliContext(env: NodeJS.ProcessEnv = process.env): CliContext {
  return {
    dataDir: env.GATEHOUSE_DATA_DIR || defaultDataDir(),
    databaseUrl: env.DATABASE_URL || undefined,
    issuer: (env.GATEHOUSE_ISSUER || `http://127.0.0.1:${sandboxPort("issuer", env)}`).replace(/\/$/, ""),
  };
}

export async function withStore<T>(
  ctx: CliContext,
  fn: (s: { store: Store; audit: AuditLog; killSwitches: KillSwitches }) => Promise<T>,
): Promise<T> {
  const store = openStore({ databaseUrl: ctx.databaseUrl, sqlitePath: `${ctx.dataDir}/gatehouse.db` });
  try {
    await migrateToLatest(store);
    return await fn({ store, audit: new AuditLog(store), killSwitches: new KillSwitches(store, 0) });
  } finally {
    await store.close();
  }
}

export function out(line = ""): void {
  process.stdout.write(`${line}\n`);
}

export function err(line: string): void {
  process.stderr.write(`${line}\n`);
}
