import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { dirname, join, relative, resolve, sep } from "node:path";
import { discoverServers, REPO_ROOT, RESERVED_PORTS } from "../packages/cli/src/servers.ts";

/** A refusal the person can act on (bad name, taken port): printed without a stack. */
export class GenError extends Error {}

export interface GenerateServerOptions {
  /** kebab-case, e.g. `stock-levels`. */
  name: string;
  /** The package folder to create. Default: `servers/<name>` (the tests use a throwaway folder). */
  dir?: string;
  /** Default: one above the highest port any server declares, skipping the sandbox's own ports. */
  port?: number;
  /** The sandbox identities whose roles get the new scope. Default: packages/sandbox/identities.json. */
  identities?: string;
  /** Default: the repository this script is in. */
  root?: string;
}

export interface GeneratedServer {
  name: string;
  dir: string;
  port: number;
  tool: string;
  scope: string;
  files: string[];
  identities: string;
  /** The roles that were given the scope now (empty when they already had it). */
  granted: string[];
}

/** The roles that may call the sample tool, as its policy says; they get its scope in sandbox tokens. */
export const GRANTED_ROLES = ["support_agent", "admin"] as const;

const NAME = /^[a-z][a-z0-9]*(-[a-z0-9]+)*$/;
/** Identifiers the templates already use: a server named like one gets `…Server` as its export. */
const TAKEN_IDENTIFIERS = new Set([
  "join",
  "defineServer",
  "defineTool",
  "serveFromCommandLine",
  "describeGovernedServer",
  "input",
  "output",
  "z",
]);
const RESERVED_WORDS = new Set(
  "break case catch class const continue debugger default delete do else enum export extends false finally for function if implements import in instanceof interface let new null package private protected public return static super switch this throw true try typeof var void while with yield await async of".split(
    " ",
  ),
);

/** Every spelling of the name a template needs. */
export function namesFor(name: string): {
  name: string;
  snake: string;
  camel: string;
  pascal: string;
  title: string;
} {
  const words = name.split("-");
  const pascal = words.map((w) => w[0]!.toUpperCase() + w.slice(1)).join("");
  let camel = pascal[0]!.toLowerCase() + pascal.slice(1);
  if (TAKEN_IDENTIFIERS.has(camel) || RESERVED_WORDS.has(camel)) camel = `${camel}Server`;
  const title = words.join(" ");
  return { name, snake: words.join("_"), camel, pascal, title: title[0]!.toUpperCase() + title.slice(1) };
}

export function validateName(name: string): void {
  if (!NAME.test(name))
    throw new GenError(
      `"${name}" is not a server name: use kebab-case, lower-case letters and digits, starting with a letter (e.g. stock-levels)`,
    );
  if (name.length < 2 || name.length > 41) throw new GenError(`"${name}" must be 2 to 41 characters long`);
}

/** Names every workspace package already has (`@gatehouse/<x>`), so the new package cannot collide. */
function workspacePackageNames(root: string): Map<string, string> {
  const names = new Map<string, string>();
  const add = (pkgFile: string) => {
    if (!existsSync(pkgFile)) return;
    try {
      const pkg = JSON.parse(readFileSync(pkgFile, "utf8")) as { name?: string };
      if (pkg.name) names.set(pkg.name, relative(root, dirname(pkgFile)));
    } catch {
      // A half-written package.json elsewhere is not this generator's business.
    }
  };
  for (const group of ["packages", "servers"]) {
    const dir = join(root, group);
    if (!existsSync(dir)) continue;
    for (const d of readdirSync(dir)) add(join(dir, d, "package.json"));
  }
  add(join(root, "test", "package.json"));
  return names;
}

export function nextFreePort(taken: number[]): number {
  let port = Math.max(7100, ...taken) + 1;
  while (RESERVED_PORTS.includes(port) || taken.includes(port)) port++;
  return port;
}

/** Fills `{{key}}` placeholders; an unknown one is an error, so a template typo never ships. */
export function render(text: string, vars: Record<string, string>, where: string): string {
  return text.replace(/\{\{\s*([A-Za-z]+)\s*\}\}/g, (_m, key: string) => {
    const value = vars[key];
    if (value === undefined) throw new GenError(`${where}: unknown placeholder {{${key}}}`);
    return value;
  });
}

function templateFiles(dir: string, prefix = ""): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir).sort()) {
    const full = join(dir, entry);
    if (statSync(full).isDirectory()) out.push(...templateFiles(full, `${prefix}${entry}/`));
    else out.push(`${prefix}${entry}`);
  }
  return out;
}

function biome(root: string): string | undefined {
  const bin = join(root, "node_modules", ".bin", process.platform === "win32" ? "biome.cmd" : "biome");
  return existsSync(bin) ? bin : undefined;
}

/** JSON as the repository's formatter writes it (short arrays on one line), so lint stays green. */
function formatJson(root: string, value: unknown): string {
  const text = `${JSON.stringify(value, null, 2)}\n`;
  const bin = biome(root);
  if (!bin) return text;
  const r = spawnSync(bin, ["format", "--stdin-file-path=packages/sandbox/identities.json"], {
    cwd: root,
    input: text,
    encoding: "utf8",
    shell: process.platform === "win32",
  });
  return r.status === 0 && r.stdout.trim() ? r.stdout : text;
}

/** Adds `scope` to the roles' default sandbox scopes; returns the roles that did not have it yet. */
export function grantScope(
  file: string,
  scope: string,
  roles: readonly string[],
  root = REPO_ROOT,
): string[] {
  const dir = JSON.parse(readFileSync(file, "utf8")) as { roleScopes?: Record<string, string[]> };
  const roleScopes = dir.roleScopes;
  if (!roleScopes) throw new GenError(`${file} has no "roleScopes"`);
  const granted: string[] = [];
  for (const role of roles) {
    const scopes = roleScopes[role];
    if (!scopes) throw new GenError(`${file} has no role "${role}" in "roleScopes"`);
    if (!scopes.includes(scope)) {
      scopes.push(scope);
      granted.push(role);
    }
  }
  if (granted.length) writeFileSync(file, formatJson(root, dir));
  return granted;
}

/** Scaffolds a server package from templates/server and makes its scope grantable in the sandbox. */
export function generateServer(opts: GenerateServerOptions): GeneratedServer {
  const root = resolve(opts.root ?? REPO_ROOT);
  const { name } = opts;
  validateName(name);
  const dir = resolve(opts.dir ?? join(root, "servers", name));
  if (existsSync(dir) && readdirSync(dir).length > 0)
    throw new GenError(`${relative(root, dir) || dir} already exists; pick another name`);
  const defaultDir = join(root, "servers", name);
  if (defaultDir !== dir && existsSync(defaultDir))
    throw new GenError(`servers/${name} already exists; pick another name`);
  const pkgName = `@gatehouse/${name}`;
  const owner = workspacePackageNames(root).get(pkgName);
  if (owner) throw new GenError(`the package name ${pkgName} is taken by ${owner}; pick another name`);

  const servers = discoverServers(join(root, "servers"));
  const ports = servers.map((s) => s.defaultPort);
  const port = opts.port ?? nextFreePort(ports);
  if (!Number.isInteger(port) || port < 1024 || port > 65535)
    throw new GenError(`--port must be a whole number between 1024 and 65535`);
  if (RESERVED_PORTS.includes(port))
    throw new GenError(`port ${port} belongs to the sandbox (${RESERVED_PORTS.join(", ")}); pick another`);
  const clash = servers.find((s) => s.defaultPort === port);
  if (clash) throw new GenError(`port ${port} is ${clash.name}'s; pick another`);

  const identities = resolve(opts.identities ?? join(root, "packages", "sandbox", "identities.json"));
  if (!existsSync(identities)) throw new GenError(`${identities} does not exist`);

  // Render everything first: a bad template leaves nothing half-written behind.
  const templates = join(root, "templates", "server");
  const vars = {
    ...namesFor(name),
    port: String(port),
    root: relative(dir, root).split(sep).join("/") || ".",
  };
  const files = templateFiles(templates).map((rel) => ({
    path: rel.replace(/\.tmpl$/, "").replaceAll("__name__", name),
    text: render(readFileSync(join(templates, rel), "utf8"), vars, `templates/server/${rel}`),
  }));

  const createdDir = !existsSync(dir);
  try {
    for (const f of files) {
      const target = join(dir, f.path);
      mkdirSync(dirname(target), { recursive: true });
      writeFileSync(target, f.text, { flag: "wx" });
    }
  } catch (e) {
    if (createdDir) rmSync(dir, { recursive: true, force: true });
    throw e;
  }
  // Long names can push a line past the width: let the formatter settle it, as a person would.
  const bin = biome(root);
  if (bin)
    spawnSync(bin, ["check", "--write", dir], {
      cwd: root,
      stdio: "ignore",
      shell: process.platform === "win32",
    });

  const scope = `${name}:read`;
  const granted = grantScope(identities, scope, GRANTED_ROLES, root);
  return {
    name,
    dir,
    port,
    tool: `ping_${vars.snake}`,
    scope,
    files: files.map((f) => f.path),
    identities,
    granted,
  };
}
