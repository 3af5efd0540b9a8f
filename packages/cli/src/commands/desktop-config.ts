import { randomBytes } from "node:crypto";
import {
  chmodSync,
  existsSync,
  mkdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { homedir } from "node:os";
import { dirname, join, posix, resolve, win32 } from "node:path";
import { type CliContext, err, out, requireSeededUser } from "../context.ts";
import { portOffset } from "../ports.ts";
import { REPO_ROOT, type ServerEntry, servers, UsageError } from "../servers.ts";

/** The prefix of every entry this command owns in claude_desktop_config.json. */
export const ENTRY_PREFIX = "gatehouse-";

/** One stdio server as Claude Desktop launches it. */
export interface DesktopEntry {
  command: string;
  args: string[];
  env: Record<string, string>;
}

/** Where Claude Desktop keeps its configuration on this platform. */
export function claudeDesktopConfigPath(
  platform: NodeJS.Platform = process.platform,
  env: NodeJS.ProcessEnv = process.env,
  home: string = homedir(),
): string {
  const file = "claude_desktop_config.json";
  if (platform === "darwin") return posix.join(home, "Library", "Application Support", "Claude", file);
  if (platform === "win32")
    return win32.join(env.APPDATA || win32.join(home, "AppData", "Roaming"), "Claude", file);
  return posix.join(env.XDG_CONFIG_HOME || posix.join(home, ".config"), "Claude", file);
}

/**
 * The `gatehouse-<server>` entries: the absolute Node 24 binary and CLI, so they work from any directory. Node
 * strips the types itself: no loader, no compiler process beside each server.
 */
export function desktopEntries(
  list: ServerEntry[],
  opts: { user: string; dataDir: string; root?: string; platform?: NodeJS.Platform },
): Record<string, DesktopEntry> {
  const root = opts.root ?? REPO_ROOT;
  const cli = join(root, "packages", "cli", "src", "main.ts");
  const entries: Record<string, DesktopEntry> = {};
  for (const s of list) {
    entries[`${ENTRY_PREFIX}${s.name}`] = {
      command: process.execPath,
      args: [cli, "stdio", s.name, "--user", opts.user],
      env: {
        GATEHOUSE_DATA_DIR: resolve(opts.dataDir),
        // The entries must find the same sandbox ports as the `gatehouse start` they were made beside.
        ...(portOffset() ? { GATEHOUSE_PORT_OFFSET: String(portOffset()) } : {}),
      },
    };
  }
  return entries;
}

/**
 * Merges the entries into an existing configuration: every other key and every other server stays as
 * it was; earlier `gatehouse-*` entries are replaced (one for a server that no longer exists goes).
 */
export function mergeDesktopConfig(
  existing: unknown,
  entries: Record<string, DesktopEntry>,
  where = "the configuration",
): Record<string, unknown> {
  const isObject = (v: unknown): v is Record<string, unknown> =>
    typeof v === "object" && v !== null && !Array.isArray(v);
  if (existing !== undefined && !isObject(existing))
    throw new UsageError(`${where} is not a JSON object; fix or move it, then run this again`);
  const config: Record<string, unknown> = { ...(existing ?? {}) };
  const current = config.mcpServers ?? {};
  if (!isObject(current))
    throw new UsageError(`"mcpServers" in ${where} is not an object; fix it, then run this again`);
  const kept = Object.fromEntries(Object.entries(current).filter(([k]) => !k.startsWith(ENTRY_PREFIX)));
  config.mcpServers = { ...kept, ...entries };
  return config;
}

/** Replaces `file` in one step (temp file + rename in the same folder), keeping the previous one as `<file>.bak`. */
export function writeFileAtomically(file: string, text: string): { backup?: string } {
  mkdirSync(dirname(file), { recursive: true });
  const tmp = join(dirname(file), `.${randomBytes(6).toString("hex")}.tmp`);
  let backup: string | undefined;
  try {
    writeFileSync(tmp, text, { mode: 0o600, flag: "wx" });
    if (existsSync(file)) {
      chmodSync(tmp, statSync(file).mode & 0o777);
      backup = `${file}.bak`;
      writeFileSync(backup, readFileSync(file));
    }
    renameSync(tmp, file);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw e;
  }
  return { backup };
}

/**
 * `gatehouse desktop-config [--user alice] [--write] [--file <path>]`: one Claude Desktop stdio entry
 * per server. Printed by default; with --write (or --file) merged into claude_desktop_config.json.
 */
export async function desktopConfigCommand(
  ctx: CliContext,
  opts: { user?: string; write?: boolean; file?: string },
): Promise<number> {
  const user = requireSeededUser(opts.user ?? "alice");
  const list = servers();
  if (list.length === 0)
    throw new UsageError('no servers found (no servers/*/package.json has a "gatehouse" block)');
  const entries = desktopEntries(list, { user, dataDir: ctx.dataDir });

  if (!opts.write && !opts.file) {
    out(JSON.stringify({ mcpServers: entries }, null, 2));
    err(
      `merge these into ${claudeDesktopConfigPath()} yourself, or run: pnpm gatehouse desktop-config --write`,
    );
    return 0;
  }

  const file = resolve(opts.file ?? claudeDesktopConfigPath());
  let existing: unknown;
  if (existsSync(file)) {
    const text = readFileSync(file, "utf8");
    if (text.trim() !== "") {
      try {
        existing = JSON.parse(text);
      } catch (e) {
        throw new UsageError(
          `${file} is not valid JSON (${(e as Error).message}); fix it, then run this again`,
        );
      }
    }
  }
  const merged = mergeDesktopConfig(existing, entries, file);
  const { backup } = writeFileAtomically(file, `${JSON.stringify(merged, null, 2)}\n`);
  out(
    `wrote ${Object.keys(entries).length} entries to ${file}: ${Object.keys(entries).join(", ")} (as ${user})`,
  );
  if (backup) out(`the previous file is ${backup}`);
  out("restart Claude Desktop to pick them up");
  return 0;
}
