import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parse } from "yaml";
import { type Values, values } from "./values.ts";

/** deploy/values.yaml: every setting's default, documented in place. */
export const DEFAULT_VALUES_FILE = join(import.meta.dirname, "..", "values.yaml");

type Tree = Record<string, unknown>;
const isTree = (x: unknown): x is Tree => typeof x === "object" && x !== null && !Array.isArray(x);

/** Later files win: mappings merge key by key, anything else (lists included) is replaced whole, as in Helm. */
export function mergeValues(base: unknown, over: unknown): unknown {
  if (!isTree(base) || !isTree(over)) return over === undefined ? base : over;
  const out: Tree = { ...base };
  for (const [k, val] of Object.entries(over)) out[k] = val === null ? undefined : mergeValues(base[k], val);
  return out;
}

/** Checks merged values; a problem names its path (`systems.jira.baseUrl: …`), one per line. */
export function parseValues(raw: unknown): Values {
  const parsed = values.safeParse(raw);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.join(".") || "(top level)"}: ${i.message}`);
    throw new Error(`invalid values:\n${lines.join("\n")}`);
  }
  return parsed.data;
}

/** deploy/values.yaml, then each file in order on top of it. */
export function loadValues(files: string[] = [], defaults = DEFAULT_VALUES_FILE): Values {
  let merged: unknown = {};
  for (const file of [defaults, ...files]) {
    let doc: unknown;
    try {
      doc = parse(readFileSync(file, "utf8"));
    } catch (err) {
      throw new Error(`${file}: ${(err as Error).message.split("\n")[0]}`);
    }
    if (doc !== null && !isTree(doc)) throw new Error(`${file}: must be a YAML mapping of values`);
    merged = mergeValues(merged, doc ?? {});
  }
  return parseValues(merged);
}
