/**
 * How deeply tool arguments may nest. Every tool's input schema is a few levels deep; anything deeper is
 * hostile or broken, and is refused before any code walks it recursively (redaction, fingerprints, zod).
 */
export const MAX_ARGUMENT_DEPTH = 32;

/** Whether `value` nests deeper than `limit` levels, found without recursion (an explicit stack). */
export function nestsDeeperThan(value: unknown, limit: number): boolean {
  const stack: Array<[unknown, number]> = [[value, 0]];
  while (stack.length > 0) {
    const [v, depth] = stack.pop()!;
    if (v === null || typeof v !== "object") continue;
    if (depth >= limit) return true;
    const children = Array.isArray(v) ? v : Object.values(v);
    for (const child of children)
      if (child !== null && typeof child === "object") stack.push([child, depth + 1]);
  }
  return false;
}

/** How deeply a whole JSON-RPC message may nest once tool arguments are clipped. */
export const MAX_MESSAGE_DEPTH = 64;

/**
 * Cuts every container nested deeper than `limit` levels in `value` (in place, without recursion), leaving
 * null where it was. The HTTP edge clips a tool call's hostile arguments before the SDK's own validation
 * walks them recursively; the pipeline still sees them nest past MAX_ARGUMENT_DEPTH, refuses the call and
 * audits it.
 */
export function clipNesting(value: unknown, limit: number): void {
  const stack: Array<[Record<string, unknown> | unknown[], number]> = [];
  if (value !== null && typeof value === "object") stack.push([value as Record<string, unknown>, 1]);
  while (stack.length > 0) {
    const [container, depth] = stack.pop()!;
    const keys = Array.isArray(container) ? container.keys() : Object.keys(container);
    for (const key of keys) {
      const child = (container as Record<string | number, unknown>)[key];
      if (child === null || typeof child !== "object") continue;
      if (depth >= limit) (container as Record<string | number, unknown>)[key] = null;
      else stack.push([child as Record<string, unknown>, depth + 1]);
    }
  }
}

/**
 * Makes parsed JSON-RPC messages safe to hand to the SDK: a tools/call's too-deep arguments are clipped
 * (the pipeline refuses and audits the call); anything else still nesting past MAX_MESSAGE_DEPTH is refused.
 */
export function guardMessageDepth(parsed: unknown): { ok: true } | { ok: false; message: string } {
  for (const msg of Array.isArray(parsed) ? parsed : [parsed]) {
    const m = msg as { method?: unknown; params?: { arguments?: unknown } } | null;
    const args = m?.params?.arguments;
    if (m?.method === "tools/call" && nestsDeeperThan(args, MAX_ARGUMENT_DEPTH))
      clipNesting(args, MAX_ARGUMENT_DEPTH + 1);
  }
  return nestsDeeperThan(parsed, MAX_MESSAGE_DEPTH)
    ? { ok: false, message: `the request nests deeper than ${MAX_MESSAGE_DEPTH} levels` }
    : { ok: true };
}
