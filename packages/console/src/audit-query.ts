import type { AuditRecord } from "@gatehouse/governance";
import type { Store } from "@gatehouse/store";
import { z } from "zod";

const text = z.string().trim().max(200).optional();

/** The timeline's filters, from the query string; a bad value is refused naming the field. */
export const auditFilterSchema = z
  .object({
    person: text,
    tenant: text,
    server: text,
    tool: text,
    /** An outcome (ok, denied, …), a stage (policy, approval, …) or an event type (tool.denied). */
    outcome: text,
    from: z.iso.datetime({ offset: true, local: true, error: "from must be a date and time" }).optional(),
    to: z.iso.datetime({ offset: true, local: true, error: "to must be a date and time" }).optional(),
    before: z.coerce.number().int().positive().optional(),
    after: z.coerce.number().int().min(0).optional(),
  })
  .strip();
export type AuditFilter = z.infer<typeof auditFilterSchema>;

/** Empty form fields mean "no filter". */
export function parseAuditFilter(query: Record<string, string>): AuditFilter {
  const present = Object.fromEntries(Object.entries(query).filter(([, v]) => v.trim() !== ""));
  return auditFilterSchema.parse(present);
}

const iso = (v: string) => new Date(v).toISOString();

/**
 * Audit events matching the filters, newest first (or, with `after`, the next ones oldest first, for the
 * live stream). `tenant` set by policy limits the rows to that tenant whatever the filters say.
 */
export async function queryAudit(
  store: Store,
  filter: AuditFilter,
  scope: { tenant: string | null },
  limit = 100,
): Promise<AuditRecord[]> {
  let q = store.db.selectFrom("audit_events").selectAll();
  if (scope.tenant !== null) q = q.where("tenant", "=", scope.tenant);
  if (filter.tenant) q = q.where("tenant", "=", filter.tenant);
  if (filter.person) q = q.where("user_id", "=", filter.person);
  if (filter.server) q = q.where("server", "=", filter.server);
  if (filter.tool) q = q.where("tool", "=", filter.tool);
  if (filter.outcome) {
    const o = filter.outcome;
    // The stage a call was stopped at is in its detail (e.g. {"stage":"approval",…}).
    q = q.where((eb) =>
      eb.or([
        eb("outcome", "=", o),
        eb("type", "=", o),
        eb("decision", "=", o),
        eb("detail", "like", `%"stage":"${o.replace(/[%_"\\]/g, "")}"%`),
      ]),
    );
  }
  if (filter.from) q = q.where("ts", ">=", iso(filter.from));
  if (filter.to) q = q.where("ts", "<=", iso(filter.to));
  if (filter.after !== undefined)
    return q.where("seq", ">", filter.after).orderBy("seq", "asc").limit(limit).execute();
  if (filter.before !== undefined) q = q.where("seq", "<", filter.before);
  return q.orderBy("seq", "desc").limit(limit).execute();
}

/** One event by id, if the person's tenant scope covers it. */
export async function auditEvent(
  store: Store,
  id: string,
  scope: { tenant: string | null },
): Promise<AuditRecord | undefined> {
  let q = store.db.selectFrom("audit_events").selectAll().where("id", "=", id);
  if (scope.tenant !== null) q = q.where("tenant", "=", scope.tenant);
  return q.executeTakeFirst();
}
