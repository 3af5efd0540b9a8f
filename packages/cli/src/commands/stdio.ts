import { join } from "node:path";
import { runServer } from "@gatehouse/kit";
import { loadOrCreateIssuerKeys, mintToken } from "@gatehouse/sandbox";
import type { CliContext } from "../context.ts";
import { sandboxPort } from "../ports.ts";
import { startSandboxSystems } from "../sandbox-systems.ts";
import { defaultResourceUrl, findServer, needs, UsageError } from "../servers.ts";

/**
 * `gatehouse stdio <server> (--user alice | --profile alice)`: serves one server on this process's
 * stdin/stdout, as Claude Desktop launches it. --user mints a short-lived sandbox token verified like any
 * other; --profile uses a named local profile (env=local, recorded in every audit event).
 * Nothing may be written to stdout here except the protocol.
 */
export async function stdioCommand(
  ctx: CliContext,
  name: string | undefined,
  opts: { user?: string; profile?: string; ttl?: string },
): Promise<number> {
  if (!name) throw new UsageError("stdio needs a server name");
  const entry = findServer(name);
  const def = await entry.load();
  // This process is the whole server. It shares the stand-ins of a running `gatehouse start` (same Jira,
  // same HubSpot), or runs its own on their usual ports.
  const systems = await startSandboxSystems(ctx.dataDir, {
    hubspotPort: sandboxPort("hubspot"),
    jiraPort: sandboxPort("jira"),
    share: true,
    ...needs(entry),
  });
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    GATEHOUSE_DATA_DIR: ctx.dataDir,
    GATEHOUSE_ISSUER: ctx.issuer,
    ...entry.env(systems),
  };
  if (opts.user) {
    const keys = await loadOrCreateIssuerKeys(ctx.dataDir);
    env.GATEHOUSE_TOKEN = await mintToken(keys, {
      issuer: ctx.issuer,
      user: opts.user,
      audience: defaultResourceUrl(entry),
      ttlSeconds: opts.ttl ? Number(opts.ttl) : 8 * 3600,
      clientId: "claude-desktop",
    });
    env.GATEHOUSE_JWKS_FILE = join(ctx.dataDir, "issuer", "jwks.json");
    env.GATEHOUSE_PUBLIC_URL = defaultResourceUrl(entry);
  } else if (opts.profile) {
    env.GATEHOUSE_ENV = "local";
    env.GATEHOUSE_PROFILE = opts.profile;
  } else if (!env.GATEHOUSE_TOKEN) {
    throw new UsageError(
      "stdio needs --user <id> (a sandbox token) or --profile <id> (a local profile), or GATEHOUSE_TOKEN",
    );
  }
  try {
    const running = await runServer(def, "stdio", env);
    await new Promise<void>((resolve) => {
      process.stdin.once("end", resolve);
      process.once("SIGTERM", resolve);
      process.once("SIGINT", resolve);
    });
    await running.close();
    return 0;
  } finally {
    await systems.close();
  }
}
