import { mintToken } from "@gatehouse/sandbox/issuer";
import { loadOrCreateIssuerKeys } from "@gatehouse/sandbox/issuer-keys";
import { type CliContext, err, out, requireSeededUser } from "../context.ts";
import { defaultResourceUrl, findServer, UsageError } from "../servers.ts";

/** The server a token is for when neither --server nor --audience says. */
export const DEFAULT_TOKEN_SERVER = "order-lookup";

/** `--ttl`: whole seconds, at most a day (a sandbox token is for trying things, not for keeping). */
export function parseTtl(raw: string | undefined, fallback: number): number {
  if (raw === undefined) return fallback;
  const ttl = Number(raw);
  if (!/^\d+$/.test(raw.trim()) || !Number.isInteger(ttl) || ttl <= 0 || ttl > 86_400)
    throw new UsageError(`--ttl must be a whole number of seconds between 1 and 86400, not "${raw}"`);
  return ttl;
}

/**
 * `gatehouse token --user alice [--audience URL | --server NAME] [--ttl 3600] [--scopes a,b]`: stdout is the
 * bare token (for `$(…)`); which audience was chosen by default is said on stderr.
 */
export async function tokenCommand(
  ctx: CliContext,
  opts: { user?: string; audience?: string; server?: string; ttl?: string; scopes?: string },
): Promise<number> {
  if (!opts.user) throw new UsageError("token needs --user <id> (alice, bob, carol, erin or dave)");
  requireSeededUser(opts.user);
  if (opts.server && opts.audience)
    throw new UsageError("token takes --server or --audience, not both (--server names the audience)");
  let audience: string;
  if (opts.audience) {
    if (!URL.canParse(opts.audience) || !/^https?:$/.test(new URL(opts.audience).protocol))
      throw new UsageError(`--audience must be a server's http(s) URL, not "${opts.audience}"`);
    audience = opts.audience;
  } else {
    audience = defaultResourceUrl(findServer(opts.server ?? DEFAULT_TOKEN_SERVER));
  }
  const ttl = parseTtl(opts.ttl, 3600);
  const scopes = opts.scopes
    ?.split(",")
    .map((s) => s.trim())
    .filter(Boolean);
  if (scopes?.length === 0) throw new UsageError("--scopes needs at least one scope, e.g. orders:read");
  for (const s of scopes ?? [])
    if (!/^[a-z][a-z0-9-]*:[a-z][a-z0-9-]*$/.test(s))
      throw new UsageError(`--scopes: "${s}" is not a scope (domain:action, e.g. orders:read)`);
  const keys = await loadOrCreateIssuerKeys(ctx.dataDir);
  const token = await mintToken(keys, {
    issuer: ctx.issuer,
    user: opts.user,
    audience,
    ttlSeconds: ttl,
    scopes,
  });
  // One line on stderr, so `$(gatehouse token …)` still gets the bare token.
  if (!opts.server && !opts.audience)
    err(`token for ${DEFAULT_TOKEN_SERVER} (audience ${audience}); pass --server <name> for another server`);
  out(token);
  return 0;
}
