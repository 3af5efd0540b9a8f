import {
  DEFAULT_PUBLISH_LEAD,
  describeIssuerKeys,
  KeyRotationError,
  type KeyStatus,
  rotateIssuerKeys,
} from "@gatehouse/sandbox/issuer-keys";
import { type CliContext, out } from "../context.ts";
import { UsageError } from "../servers.ts";

const line = (k: KeyStatus) =>
  [
    k.state.padEnd(9),
    k.kid,
    `published ${k.publishedAt.toISOString()}`,
    `signs from ${k.signsFrom.toISOString()}`,
    k.retiresAt ? `retires ${k.retiresAt.toISOString()}` : "",
  ]
    .filter(Boolean)
    .join("  ");

/**
 * `gatehouse keys rotate [--lead <s>]` and `gatehouse keys list`: the sandbox issuer's signing keys in the
 * data directory. A rotation is a schedule written once: the new key is published now and signs after
 * the lead; the old key stays published until every token it signed has expired. The running issuer
 * follows the schedule without a restart.
 */
export async function keysCommand(
  ctx: CliContext,
  action: string | undefined,
  opts: { lead?: string },
): Promise<number> {
  const usage = "usage: gatehouse keys rotate [--lead <seconds>] | keys list";
  if (action === "list") {
    if (opts.lead !== undefined) throw new UsageError("keys list takes no options");
    const { maxTokenTtlSeconds, keys } = describeIssuerKeys(ctx.dataDir);
    for (const k of keys) out(line(k));
    out(`tokens live at most ${maxTokenTtlSeconds} s; a replaced key stays published that long`);
    return 0;
  }
  if (action !== "rotate")
    throw new UsageError(action ? `unknown keys command "${action}"; ${usage}` : usage);
  let lead = DEFAULT_PUBLISH_LEAD;
  if (opts.lead !== undefined) {
    if (!/^\d+$/.test(opts.lead.trim()) || Number(opts.lead) > 86_400)
      throw new UsageError(
        `--lead must be a whole number of seconds between 0 and 86400, not "${opts.lead}"`,
      );
    lead = Number(opts.lead);
  }
  try {
    const { added, replaced } = rotateIssuerKeys(ctx.dataDir, { leadSeconds: lead });
    out(`published ${added.kid}; it signs from ${added.signsFrom.toISOString()}`);
    out(
      `${replaced.kid} signs until then and stays published until ${replaced.retiresAt?.toISOString()} (its last token's expiry plus 30 s for clock skew)`,
    );
    if (lead < 30)
      out(
        "warning: servers refetch keys at most every 30 s; a lead under 30 s can refuse valid tokens for a moment",
      );
    return 0;
  } catch (e) {
    if (e instanceof KeyRotationError) throw new UsageError(e.message);
    throw e;
  }
}
