import { loadOrCreateIssuerKeys, mintToken } from "@gatehouse/sandbox";
import { type CliContext, out } from "../context.ts";
import { defaultResourceUrl, findServer, UsageError } from "../servers.ts";

/** `gatehouse token --user alice [--audience URL | --server NAME] [--ttl 3600] [--scopes a,b]` */
export async function tokenCommand(
  ctx: CliContext,
  opts: { user?: string; audience?: string; server?: string; ttl?: string; scopes?: string },
): Promise<number> {
  if (!opts.user) throw new UsageError("token needs --user <id> (alice, bob, carol or dave)");
  const audience = opts.audience ?? defaultResourceUrl(findServer(opts.server ?? "order-lookup"));
  const ttl = opts.ttl ? Number(opts.ttl) : 3600;
  if (!Number.isInteger(ttl) || ttl <= 0 || ttl > 86_400)
    throw new UsageError("--ttl must be a whole number of seconds between 1 and 86400");
  const keys = await loadOrCreateIssuerKeys(ctx.dataDir);
  const token = await mintToken(keys, {
    issuer: ctx.issuer,
    user: opts.user,
    audience,
    ttlSeconds: ttl,
    scopes: opts.scopes
      ? opts.scopes
          .split(",")
          .map((s) => s.trim())
          .filter(Boolean)
      : undefined,
  });
  out(token);
  return 0;
}
