import { accessInventory, type PersonAccess, Revocations } from "@gatehouse/governance";
import { newTraceContext } from "@gatehouse/kit";
import { type CliContext, out, withStore } from "../context.ts";
import { operatorIdentity } from "../operator.ts";
import { UsageError } from "../usage-error.ts";
import { registeredClientNames } from "./revoke.ts";

const USAGE = "usage: gatehouse access list [--person <id>]";

const revokedNote = (r: { revokedBy: string; revokedAt: string; reason: string } | undefined) =>
  r ? `  REVOKED by ${r.revokedBy} at ${r.revokedAt} (${r.reason})` : "";

function printPerson(p: PersonAccess): void {
  out(
    `${p.person} (${p.tenant})  first seen ${p.firstSeen}, last seen ${p.lastSeen}${revokedNote(p.revoked)}`,
  );
  out(`  servers:   ${p.servers.join(", ")}`);
  out(`  from:      ${p.transports.join(", ")} in ${p.environments.join(", ")}`);
  out("  clients:");
  for (const c of p.clients)
    out(
      `    ${c.clientId}${c.name && c.name !== c.clientId ? ` "${c.name}"` : ""}  ${c.servers.join(", ")}  last seen ${c.lastSeen}${revokedNote(c.revoked)}`,
    );
  out("  tokens:");
  if (p.tokens.length === 0) out("    none in the last day");
  for (const t of p.tokens) {
    const state = t.revoked ? "revoked" : t.live ? "live" : "expired or revoked";
    out(
      `    ${t.tokenId}  ${state}  via ${t.clientId}  ${t.servers.join(", ")}  expires ${t.expiresAt ?? "never"}  last seen ${t.lastSeen}`,
    );
  }
}

/** `gatehouse access list [--person <id>]`: who has access from where, and what is revoked. */
export async function accessCommand(
  ctx: CliContext,
  action: string | undefined,
  opts: { person?: string },
): Promise<number> {
  if (action !== "list")
    throw new UsageError(action === undefined ? USAGE : `unknown access command "${action}"; ${USAGE}`);
  return withStore(ctx, async ({ store, audit }) => {
    const people = await accessInventory(store, {
      person: opts.person,
      clientNames: registeredClientNames(ctx.dataDir),
    });
    const trace = newTraceContext({});
    // Looking at who has access is itself on the record.
    await audit.append({
      type: "access.listed",
      server: "gatehouse-cli",
      identity: operatorIdentity(),
      outcome: "listed",
      detail: { ...(opts.person ? { person: opts.person } : {}), people: people.length },
      correlationId: trace.correlationId,
      traceId: trace.traceId,
      spanId: trace.spanId,
    });
    if (people.length === 0)
      out(opts.person ? `${opts.person} has not called any server` : "nobody has called a server yet");
    for (const p of people) {
      printPerson(p);
      out();
    }
    const revocations = (await new Revocations(store, 0).list()).filter(
      (r) => !opts.person || (r.kind === "subject" && r.value === opts.person),
    );
    if (revocations.length) {
      out("revoked:");
      for (const r of revocations)
        out(
          `  ${r.kind === "subject" ? "person" : r.kind} ${r.value}  by ${r.revokedBy} at ${r.revokedAt} (${r.reason})  ${r.id}`,
        );
    }
    return 0;
  });
}
