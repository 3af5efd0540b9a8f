import { AuditLog, KillSwitches } from "@gatehouse/governance";
import { loadIdentities } from "@gatehouse/sandbox/identities";
import { defaultDataDir, migrateToLatest, openStore, type Store } from "@gatehouse/store";
import { sandboxPort } from "./ports.ts";
import { UsageError } from "./usage-error.ts";

/** What every command shares: where local state lives and which store to use. */
export interface CliContext {
  dataDir: string;
  databaseUrl?: string;
  issuer: string;
}

export function dataDirOf(env: NodeJS.ProcessEnv = process.env): string {
  return env.GATEHOUSE_DATA_DIR || defaultDataDir();
}

export function cliContext(env: NodeJS.ProcessEnv = process.env): CliContext {
  return {
    dataDir: dataDirOf(env),
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

/**
 * A person in the sandbox's identities (or in `file`: GATEHOUSE_PROFILES_FILE for --profile), or a usage
 * error naming the ones there are.
 */
export function requireSeededUser(id: string, flag = "--user", file?: string): string {
  const users = Object.keys(loadIdentities(file).users);
  if (!users.includes(id))
    throw new UsageError(`unknown user "${id}" (${flag}); the people there are: ${users.join(", ")}`);
  return id;
}
