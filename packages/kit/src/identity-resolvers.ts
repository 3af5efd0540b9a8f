import { readFileSync } from "node:fs";
import { AuthError, type Identity, type TokenVerifier } from "@gatehouse/governance";
import type { KitConfig } from "./config.ts";
import type { IdentityResolver } from "./mcp-server.ts";

interface ProfilesFile {
  users: Record<string, { roles: string[]; tenant: string }>;
  roleScopes: Record<string, string[]>;
}

/**
 * Who a stdio server acts for. A token (GATEHOUSE_TOKEN) is verified exactly as over HTTP, on every
 * call so an expired token stops working. A named local profile is accepted only when GATEHOUSE_ENV is
 * `local`, and its identity says env=local in every audit event.
 */
export function stdioIdentity(config: KitConfig, verifier: () => TokenVerifier): IdentityResolver {
  if (config.token) {
    const token = config.token;
    const v = verifier();
    const renewal = config.tokenRenewal;
    if (!renewal) return () => v.verify(token);
    // The session outlives the token (it is fixed at start): the refusal says how to get a new one.
    return () =>
      v.verify(token).catch((err: unknown) => {
        throw err instanceof AuthError ? new AuthError(err.code, `${err.description}; ${renewal}`) : err;
      });
  }
  if (config.profile) {
    if (config.env !== "local") {
      throw new AuthError(
        "invalid_request",
        `GATEHOUSE_PROFILE is only honoured with GATEHOUSE_ENV=local (it is ${config.env}); use GATEHOUSE_TOKEN`,
      );
    }
    const profiles = JSON.parse(readFileSync(config.profilesFile, "utf8")) as ProfilesFile;
    const user = profiles.users[config.profile];
    if (!user)
      throw new AuthError(
        "invalid_request",
        `no local profile "${config.profile}" in ${config.profilesFile}`,
      );
    const identity: Identity = {
      user: config.profile,
      roles: user.roles,
      tenant: user.tenant,
      client: "local-stdio",
      env: "local",
      tokenId: "local-profile",
      scopes: [...new Set(user.roles.flatMap((r) => profiles.roleScopes[r] ?? []))].sort(),
    };
    return async () => identity;
  }
  throw new AuthError(
    "invalid_request",
    "no identity: set GATEHOUSE_TOKEN (see `pnpm gatehouse token`), or GATEHOUSE_ENV=local with GATEHOUSE_PROFILE=<user>",
  );
}

/**
 * Who an HTTP request acts for: its bearer token, verified again here. The HTTP gate verified it a moment
 * earlier and the verifier caches verified tokens until they expire, so this costs a map lookup; a token
 * that expired in between is refused here like any other.
 */
export function httpIdentity(verifier: TokenVerifier): IdentityResolver {
  return async (ctx) => {
    const token = ctx.http?.authInfo?.token;
    // The HTTP gate admits no request without a verified token: none here is a wiring bug.
    if (!token) throw new Error("request reached the MCP handler without a verified token");
    return verifier.verify(token);
  };
}
