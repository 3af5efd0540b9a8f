import { AuditLog, Revocations } from "@gatehouse/governance";
import { type RunningIssuer, startIssuer } from "@gatehouse/sandbox/issuer";
import { openStore } from "@gatehouse/store";
import type { CliContext } from "./context.ts";

/**
 * The sandbox issuer, enforcing the store's revocation list (`gatehouse revoke`): it keeps its own
 * connection to the store, read afresh before every authorize and token request, and closed with it.
 * Its refusals (client ID metadata documents, ID-JAGs) go to the same store's audit chain.
 */
export async function startIssuerWithRevocations(
  ctx: CliContext,
  opts: Omit<Parameters<typeof startIssuer>[0], "revocations">,
): Promise<RunningIssuer> {
  const store = openStore({ databaseUrl: ctx.databaseUrl, sqlitePath: `${ctx.dataDir}/gatehouse.db` });
  let issuer: RunningIssuer;
  try {
    const audit = new AuditLog(store);
    issuer = await startIssuer({
      ...opts,
      revocations: new Revocations(store, 0),
      audit: (event) => audit.append(event),
    });
  } catch (err) {
    await store.close();
    throw err;
  }
  const closeIssuer = issuer.close;
  issuer.close = async () => {
    await closeIssuer();
    await store.close();
  };
  return issuer;
}
