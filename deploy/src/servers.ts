import { readFileSync } from "node:fs";
import { join } from "node:path";
import { z } from "zod";
import type { ServerName } from "./values.ts";

export const SERVER_NAMES: readonly ServerName[] = [
  "order-lookup",
  "crm-read",
  "ticket-draft",
  "ticket-send",
  "business",
];

const SYSTEMS = ["orders", "hubspot", "jira", "exchange"] as const;
export type SystemName = (typeof SYSTEMS)[number];

const gatehouseBlock = z.object({
  gatehouse: z.object({ defaultPort: z.number().int().min(1).max(65535), systems: z.array(z.enum(SYSTEMS)) }),
});

export interface ServerFacts {
  name: ServerName;
  port: number;
  /** The outside systems it talks to, as its package.json declares them (what `gatehouse start` reads too). */
  systems: SystemName[];
  /** The entry point inside the image, relative to the image's working directory. */
  entryPoint: string;
}

/** Port and systems of each server, read from its package.json "gatehouse" block: declared once, there. */
export function serverFacts(repoRoot: string = join(import.meta.dirname, "..", "..")): ServerFacts[] {
  return SERVER_NAMES.map((name) => {
    const file = join(repoRoot, "servers", name, "package.json");
    const parsed = gatehouseBlock.safeParse(JSON.parse(readFileSync(file, "utf8")));
    if (!parsed.success) throw new Error(`${file}: "gatehouse" block: ${parsed.error.issues[0]?.message}`);
    return {
      name,
      port: parsed.data.gatehouse.defaultPort,
      systems: parsed.data.gatehouse.systems,
      entryPoint: `servers/${name}/src/main.ts`,
    };
  });
}
