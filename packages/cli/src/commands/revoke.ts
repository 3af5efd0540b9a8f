import { readFileSync } from "node:fs";
import { join } from "node:path";
import { type RevocationKind, Revocations, revocationProblem } from "@gatehouse/governance";
import { newTraceContext } from "@gatehouse/kit";
import { loadIdentities } from "@gatehouse/sandbox/identities";
import type { Store } from "@gatehouse/store";
import { type CliContext, out, withStore } from "../context.ts";
import { operatorIdentity } from "../operator.ts";
import { UsageError } from "../usage-error.ts";

const KINDS: Record<string, RevocationKind> = { person: "subject", client: "client", token: "token" };
const USAGE = "usage: gatehouse revoke person|client|token <id> --reason <why>";

/** Client ids the sandbox issuer has registered (dynamic registration), with their names. */
export function registeredClientNames(dataDir: string): Record<string, string> {
  try {
    const clients = JSON.parse(
      readFileSync(join(dataDir, "issuer", "registered-clients.json"), "utf8"),
    ) as Record<string, { client_name?: unknown }>;
    return Object.fromEntries(
      Object.entries(clients).map(([id, c]) => [id, typeof c.client_name === "string" ? c.client_name : id]),
    );
  } catch {
    return {};
  }
}

/**
 * Whether `value` names something Gatehouse knows, so a typo is refused instead of revoking nothing:
 * a seeded or already-seen person, a registered or already-seen client, an already-seen token.
 */
async function known(store: Store, ctx: CliContext, kind: RevocationKind, value: string): Promise<boolean> {
  if (kind === "subject" && value in loadIdentities().users) return true;
  if (kind === "client" && value in registeredClientNames(ctx.dataDir)) return true;
  const column = kind === "subject" ? "user_id" : kind === "client" ? "client_id" : "token_id";
  const seen = await store.db
    .selectFrom("access_seen")
    .select(column)
    .where(column, "=", value)
    .limit(1)
    .execute();
  return seen.length > 0;
}

/** `gatehouse revoke person|client|token <id> --reason <why>`. */
export async function revokeCommand(
  ctx: CliContext,
  what: string | undefined,
  value: string | undefined,
  opts: { reason?: string },
): Promise<number> {
  const kind = what === undefined ? undefined : KINDS[what];
  if (!kind) throw new UsageError(what === undefined ? USAGE : `cannot revoke a "${what}"; ${USAGE}`);
  if (!value) throw new UsageError(`which ${what}? ${USAGE}`);
  if (opts.reason === undefined) throw new UsageError(`--reason is required (who asked, and why); ${USAGE}`);
  const operator = operatorIdentity();
  const problem = revocationProblem({ kind, value, reason: opts.reason, by: operator.user });
  if (problem) throw new UsageError(problem);
  return withStore(ctx, async ({ store, audit }) => {
    if (!(await known(store, ctx, kind, value))) {
      const where =
        kind === "subject"
          ? "among the sandbox people or anyone who has called a server"
          : kind === "client"
            ? "among the issuer's registered clients or any client that has called a server"
            : "among the tokens the servers have seen";
      throw new UsageError(`no ${what} "${value}" ${where}; see gatehouse access list`);
    }
    const { revocation, created } = await new Revocations(store, 0).revoke({
      kind,
      value,
      reason: opts.reason!,
      by: operator.user,
    });
    const trace = newTraceContext({});
    // An operator taking someone's access away is part of the record, under the operator's name.
    await audit.append({
      type: "access.revoked",
      server: "gatehouse-cli",
      identity: operator,
      outcome: created ? "revoked" : "already revoked",
      detail: { revocation: revocation.id, revoked: kind, value, reason: opts.reason!.trim() },
      correlationId: trace.correlationId,
      traceId: trace.traceId,
      spanId: trace.spanId,
    });
    if (!created) {
      out(
        `${what} ${value} was already revoked by ${revocation.revokedBy} at ${revocation.revokedAt} (${revocation.reason}); nothing changed`,
      );
      return 0;
    }
    out(`revoked ${what} ${value} (${revocation.id})`);
    out("  every server refuses its access tokens within 2 s (audited as a denial at the identity stage);");
    out("  the sandbox issuer drops its grants, sessions and refresh tokens at its next request");
    return 0;
  });
}
