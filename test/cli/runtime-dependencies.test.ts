import { readdirSync, readFileSync, realpathSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");

/** Development-only software: a production install of a server must not pull any of it in. */
const DEV_ONLY = [
  "@gatehouse/sandbox",
  "@gatehouse/testing",
  "oidc-provider",
  "prisma",
  "@prisma/client",
  "@modelcontextprotocol/conformance",
  "@modelcontextprotocol/inspector",
  "vitest",
];

interface Manifest {
  name: string;
  dependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
}

/** Every package a production install of `dir`'s package brings, walked through node_modules as Node resolves it. */
function productionClosure(dir: string): Map<string, string[]> {
  const seen = new Map<string, string[]>(); // package dir → path of names that brought it
  const walk = (pkgDir: string, path: string[]) => {
    const real = realpathSync(pkgDir);
    if (seen.has(real)) return;
    const manifest = JSON.parse(readFileSync(join(real, "package.json"), "utf8")) as Manifest;
    seen.set(real, [...path, manifest.name]);
    const require = createRequire(join(real, "package.json"));
    for (const dep of Object.keys({ ...manifest.dependencies, ...manifest.optionalDependencies })) {
      let found: string | undefined;
      // Resolve the dependency's own folder from this package, as Node would (exports may hide package.json).
      for (const base of require.resolve.paths(dep) ?? []) {
        try {
          found = realpathSync(join(base, dep));
          break;
        } catch {}
      }
      if (found) walk(found, [...path, manifest.name]);
      else if (!manifest.optionalDependencies?.[dep])
        throw new Error(`${manifest.name}: ${dep} is not installed`);
    }
  };
  walk(dir, []);
  return seen;
}

const servers = readdirSync(join(ROOT, "servers"));

describe("a server's production dependencies", () => {
  it.each(servers)("%s pulls in no sandbox, test tooling, Prisma or identity provider", (server) => {
    const closure = productionClosure(join(ROOT, "servers", server));
    const names = new Map([...closure.values()].map((path) => [path.at(-1)!, path.join(" → ")]));
    expect(names.has("@gatehouse/kit"), "the walk reached the kit").toBe(true);
    expect(DEV_ONLY.filter((n) => names.has(n)).map((n) => names.get(n))).toEqual([]);
  });

  it("would notice one: the CLI (a development tool) does bring the sandbox", () => {
    const names = new Set(
      [...productionClosure(join(ROOT, "packages", "cli")).values()].map((p) => p.at(-1)),
    );
    expect(names.has("@gatehouse/sandbox")).toBe(true);
    expect(names.has("oidc-provider")).toBe(true);
  });
});
