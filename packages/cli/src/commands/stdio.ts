import { join } from "node:path";
import { runServer } from "@gatehouse/kit";
import { mintToken } from "@gatehouse/sandbox/issuer";
import { loadOrCreateIssuerKeys } from "@gatehouse/sandbox/issuer-keys";
import { type CliContext, err, requireSeededUser } from "../context.ts";
import { sandboxPort } from "../ports.ts";
import { startSandboxSystems } from "../sandbox-systems.ts";
import { defaultResourceUrl, findServer, needs, UsageError } from "../servers.ts";
import { parseTtl } from "./token.ts";

/** How long a token minted by `stdio --user` lasts: a working day, then the client is restarted. */
const STDIO_TTL_SECONDS = 8 * 3600;
/** The clock skew the token verifier allows past `exp`: refusals start this much after expiry. */
const VERIFIER_LEEWAY_MS = 30_000;

/** A JWT's `exp` (seconds), read without verifying: only to tell the person early; the server verifies. */
function tokenExpiry(token: string): number | undefined {
  try {
    const payload = JSON.parse(Buffer.from(token.split(".")[1] ?? "", "base64url").toString("utf8")) as {
      exp?: unknown;
    };
    return typeof payload.exp === "number" ? payload.exp : undefined;
  } catch {
    return undefined;
  }
}

/**
 * `gatehouse stdio <server> (--user alice | --profile alice)`: serves one server on this process's
 * stdin/stdout, as Claude Desktop launches it. Nothing may be written to stdout here except the protocol.
 *
 * - `--user`: mints a sandbox token for that person now (8 h, or --ttl), verified on every call like any
 *   other. The token is fixed for the life of the process: when it expires, every call is refused with the
 *   fix (restart the client, which starts this command again and so mints a new one), also said on stderr.
 * - `--profile`: no token at all. The person's roles and tenant come from the sandbox identities file
 *   (GATEHOUSE_PROFILES_FILE overrides); this command sets GATEHOUSE_ENV=local for the server, the one
 *   setting under which the kit accepts a profile, and every audit event says env=local.
 * - neither: GATEHOUSE_TOKEN from the environment; refused at start if it has already expired.
 */
export async function stdioCommand(
  ctx: CliContext,
  name: string | undefined,
  opts: { user?: string; profile?: string; ttl?: string },
): Promise<number> {
  if (!name)
    throw new UsageError("stdio needs a server name, e.g. gatehouse stdio order-lookup --user alice");
  const entry = findServer(name);
  if (opts.user && opts.profile)
    throw new UsageError("stdio takes --user (a sandbox token) or --profile (a local profile), not both");
  if (opts.ttl !== undefined && !opts.user)
    throw new UsageError("--ttl is the lifetime of the token --user mints; it needs --user");
  const ttl = parseTtl(opts.ttl, STDIO_TTL_SECONDS);
  if (opts.user) requireSeededUser(opts.user);
  if (opts.profile) {
    requireSeededUser(opts.profile, "--profile", process.env.GATEHOUSE_PROFILES_FILE || undefined);
    if (entry.systems.includes("exchange"))
      throw new UsageError(
        `${name} acts for you at the other servers by exchanging your token, and --profile has none; use --user ${opts.profile}`,
      );
  }
  const envToken = process.env.GATEHOUSE_TOKEN;
  if (!opts.user && !opts.profile && !envToken)
    throw new UsageError(
      "stdio needs --user <id> (a sandbox token) or --profile <id> (a local profile), or GATEHOUSE_TOKEN",
    );

  // The command that started this process: what to run again for a new token.
  const again = `gatehouse stdio ${name} --user ${opts.user ?? "<id>"}`;
  let renewal: string | undefined;
  let expiresAt: number | undefined;
  if (!opts.user && !opts.profile && envToken) {
    const exp = tokenExpiry(envToken);
    const fix = `put a new token in GATEHOUSE_TOKEN where this server is configured (\`pnpm --silent gatehouse token --user <id> --server ${name}\`) and restart it, or launch \`${again}\` instead, which mints one at every start`;
    if (exp !== undefined && exp * 1000 <= Date.now()) {
      err(`gatehouse: GATEHOUSE_TOKEN expired at ${new Date(exp * 1000).toISOString()}; ${fix}`);
      return 1;
    }
    renewal = fix;
    expiresAt = exp;
  }

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
      ttlSeconds: ttl,
      clientId: "claude-desktop",
    });
    env.GATEHOUSE_JWKS_FILE = join(ctx.dataDir, "issuer", "jwks.json");
    env.GATEHOUSE_PUBLIC_URL = defaultResourceUrl(entry);
    expiresAt = Math.floor(Date.now() / 1000) + ttl;
    renewal = `restart Claude Desktop (or the MCP client that started \`${again}\`): each start mints a new token, valid ${ttl % 3600 === 0 ? `${ttl / 3600} h` : `${ttl} s`}`;
  } else if (opts.profile) {
    // The flag wins over a GATEHOUSE_TOKEN in the environment (the kit would prefer the token).
    delete env.GATEHOUSE_TOKEN;
    env.GATEHOUSE_ENV = "local";
    env.GATEHOUSE_PROFILE = opts.profile;
  }
  if (renewal) env.GATEHOUSE_TOKEN_RENEWAL = renewal;

  // Said once on stderr (Claude Desktop's log for this server) when calls start being refused.
  let expiryNotice: NodeJS.Timeout | undefined;
  const delay = expiresAt === undefined ? Infinity : expiresAt * 1000 + VERIFIER_LEEWAY_MS - Date.now();
  // Past a timer's range (about 24 days) the process will long have been restarted.
  if (expiresAt !== undefined && renewal && delay < 2 ** 31 - 1) {
    const when = new Date(expiresAt * 1000).toISOString();
    expiryNotice = setTimeout(
      () =>
        err(`gatehouse: the token for ${name} expired at ${when}; tool calls are refused now: ${renewal}`),
      Math.max(0, delay),
    );
    expiryNotice.unref();
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
    clearTimeout(expiryNotice);
    await systems.close();
  }
}
