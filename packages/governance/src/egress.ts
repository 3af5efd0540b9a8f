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

export type SchemaFilterResult<T> =
  | { ok: true; value: T; droppedFields: number }
  | { ok: false; reason: "schema"; message: string };

/** Keeps only what the output schema declares (zod objects strip unknown keys) and checks the types. */
export function filterToSchema<T>(schema: z.ZodType<T>, raw: unknown): SchemaFilterResult<T> {
  const parsed = schema.safeParse(raw);
  if (!parsed.success) {
    return {
      ok: false,
      reason: "schema",
      message: "the tool produced a result that does not match its output schema",
    };
  }
  return {
    ok: true,
    value: parsed.data,
    droppedFields: Math.max(0, countKeys(raw) - countKeys(parsed.data)),
  };
}

/** Redacts PII and secrets for this caller, then refuses results over the size cap. */
export function redactAndCap(
  value: unknown,
  opts: EgressOptions,
):
  | { ok: true; value: Record<string, unknown>; bytes: number; redactions: number }
  | { ok: false; reason: "size"; message: string } {
  // A result far over the cap is refused before redaction spends time on it.
  const rough = JSON.stringify(value).length;
  const counter: RedactionCounter = { count: 0 };
  const redacted =
    rough > opts.maxBytes * 4
      ? value
      : (redactValue(value, { allowPii: opts.allowPii }, counter) as Record<string, unknown>);
  const bytes = rough > opts.maxBytes * 4 ? rough : Buffer.byteLength(JSON.stringify(redacted));
  if (bytes > opts.maxBytes) {
    return {
      ok: false,
      reason: "size",
      message: `the result is ${bytes} bytes, over the ${opts.maxBytes}-byte limit; ask for a smaller page (lower limit) or narrower filters`,
    };
  }
  return { ok: true, value: redacted as Record<string, unknown>, bytes, redactions: counter.count };
}

/**
 * The last gate before data leaves: keep only fields the tool's output schema declares, redact PII and
 * secrets for this caller, and refuse oversized results.
 */
export function applyEgress(schema: z.ZodType, raw: unknown, opts: EgressOptions): EgressResult {
  const filtered = filterToSchema(schema, raw);
  if (!filtered.ok) return filtered;
  const capped = redactAndCap(filtered.value, opts);
  if (!capped.ok) return capped;
  return { ...capped, droppedFields: filtered.droppedFields };
}
