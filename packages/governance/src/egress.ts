import type { z } from "zod";
import { type RedactionCounter, redactValue } from "./redaction.ts";

export interface EgressOptions {
  allowPii: boolean;
  maxBytes: number;
}

export type EgressResult =
  | { ok: true; value: Record<string, unknown>; bytes: number; redactions: number; droppedFields: number }
  | { ok: false; reason: "schema" | "size"; message: string };

function countKeys(value: unknown): number {
  if (Array.isArray(value)) return value.reduce((n: number, v) => n + countKeys(v), 0);
  if (value && typeof value === "object") {
    return Object.values(value).reduce((n: number, v) => n + 1 + countKeys(v), 0);
  }
  return 0;
}

/**
 * The last gate before data leaves: keep only fields the tool's output schema declares (zod objects
 * strip unknown keys), redact PII and secrets for this caller, and refuse oversized results.
 */
export function applyEgress(schema: z.ZodType, raw: unknown, opts: EgressOptions): EgressResult {
  const parsed = schema.safeParse(raw);
  if (!parsed.success) {
    return {
      ok: false,
      reason: "schema",
      message: "the tool produced a result that does not match its output schema",
    };
  }
  const droppedFields = Math.max(0, countKeys(raw) - countKeys(parsed.data));
  const counter: RedactionCounter = { count: 0 };
  const value = redactValue(parsed.data, { allowPii: opts.allowPii }, counter) as Record<string, unknown>;
  const bytes = Buffer.byteLength(JSON.stringify(value));
  if (bytes > opts.maxBytes) {
    return {
      ok: false,
      reason: "size",
      message: `the result is ${bytes} bytes, over the ${opts.maxBytes}-byte limit; ask for a smaller page (lower limit) or narrower filters`,
    };
  }
  return { ok: true, value, bytes, redactions: counter.count, droppedFields };
}
