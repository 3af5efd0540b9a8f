import { userInfo } from "node:os";
import { newTraceContext } from "@gatehouse/kit";
import { type CliContext, out, withStore } from "../context.ts";
import { UsageError } from "../servers.ts";

/** `gatehouse killswitch on|off <tool> [--reason text]` and `gatehouse killswitch list`. */
export async function killSwitchCommand(
  ctx: CliContext,
  action: string | undefined,
  tool: string | undefined,
  opts: { reason?: string },
): Promise<number> {
  const usage = "usage: gatehouse killswitch on|off <tool or server/tool> [--reason text] | killswitch list";
  if (
    action === "list"
      ? tool !== undefined || opts.reason !== undefined
      : (action !== "on" && action !== "off") || !tool
  )
    throw new UsageError(usage);
  if (action !== "list" && !/^([a-z][a-z0-9-]*\/)?[A-Za-z0-9_.-]{1,64}$/.test(tool!))
    throw new UsageError(`"${tool}" is not a tool name (use get_order or order-lookup/get_order)`);
  return withStore(ctx, async ({ killSwitches, audit }) => {
    if (action === "list") {
      const rows = await killSwitches.list();
      if (rows.length === 0) out("no kill switches set");
      for (const r of rows)
        out(
          `${r.enabled ? "ON " : "off"}  ${r.tool}  by ${r.updated_by} at ${r.updated_at}${r.reason ? `  (${r.reason})` : ""}`,
        );
      return 0;
    }
    const operator = userInfo().username;
    await killSwitches.set(tool!, action === "on", operator, opts.reason);
    // An operator stopping or resuming a tool is part of the record, like any call it affects.
    const trace = newTraceContext({});
    await audit.append({
      type: "killswitch.changed",
      server: "gatehouse-cli",
      tool,
      env: "operator",
      outcome: action,
      detail: { operator, ...(opts.reason ? { reason: opts.reason } : {}) },
      correlationId: trace.correlationId,
      traceId: trace.traceId,
      spanId: trace.spanId,
    });
    out(`kill switch ${action} for ${tool}; running servers pick it up within a second`);
    return 0;
  });
}
