import { readFileSync } from "node:fs";
import { join } from "node:path";

/** One instruction of a Containerfile, continuation lines joined. */
export interface Instruction {
  keyword: string;
  args: string;
  line: number;
}

export function parseContainerfile(text: string): Instruction[] {
  const out: Instruction[] = [];
  let pending = "";
  let start = 0;
  text.split("\n").forEach((raw, i) => {
    const line = raw.trim();
    if (!pending && (line === "" || line.startsWith("#"))) return;
    if (pending && line.startsWith("#")) return;
    if (!pending) start = i + 1;
    pending += (pending ? " " : "") + line.replace(/\\$/, "").trim();
    if (line.endsWith("\\")) return;
    const [keyword = "", ...rest] = pending.split(/\s+/);
    out.push({ keyword: keyword.toUpperCase(), args: rest.join(" "), line: start });
    pending = "";
  });
  return out;
}

/** The workspace packages the servers import at run time: their production dependencies, transitively. */
export function runtimeWorkspaceDirs(repoRoot: string, serverDirs: string[]): string[] {
  const manifest = (dir: string) =>
    JSON.parse(readFileSync(join(repoRoot, dir, "package.json"), "utf8")) as {
      dependencies?: Record<string, string>;
    };
  const seen = new Set<string>();
  const visit = (dir: string) => {
    for (const name of Object.keys(manifest(dir).dependencies ?? {})) {
      if (!name.startsWith("@gatehouse/")) continue;
      const pkg = `packages/${name.slice("@gatehouse/".length)}`;
      if (!seen.has(pkg)) {
        seen.add(pkg);
        visit(pkg);
      }
    }
  };
  for (const s of serverDirs) visit(s);
  return [...seen].sort();
}

const COMPILERS = /\b(gcc|g\+\+|clang|make|build-essential|python3?|node-gyp|cmake)\b/;

/**
 * What deploy/Containerfile must be, as checks a reader can name: multi-stage; the runtime stage built only
 * from the deps stage, with no package manager or compiler, as a numeric non-root user, `node` as the entry
 * point; the deps stage installing production dependencies only from the lockfile, copying exactly the
 * packages the servers import. (hadolint is not in Debian or on npm; these are the rules this image needs.)
 */
export function containerfileProblems(text: string, runtimePackages: string[]): string[] {
  const problems: string[] = [];
  const instructions = parseContainerfile(text);
  const stages: Array<{ from: Instruction; name?: string; body: Instruction[] }> = [];
  for (const ins of instructions) {
    if (ins.keyword === "FROM") {
      const name = /\sAS\s+(\S+)$/i.exec(ins.args)?.[1];
      stages.push({ from: ins, name, body: [] });
    } else stages.at(-1)?.body.push(ins);
  }
  if (stages.length < 2) return ["must be multi-stage: a deps stage and a runtime stage"];
  const runtime = stages.at(-1)!;
  const deps = stages.find((s) => s.name === "deps");
  if (!deps) problems.push('needs a stage named "deps" that installs the production dependencies');

  const runs = (s: { body: Instruction[] }) => s.body.filter((i) => i.keyword === "RUN");
  for (const s of stages)
    for (const r of runs(s))
      if (/apt-get|apk add|dnf |yum /.test(r.args) || COMPILERS.test(r.args.replace(/rm -rf[^&]*/g, "")))
        problems.push(`line ${r.line}: installs system packages or a compiler: ${r.args.slice(0, 60)}`);

  if (deps) {
    const install = runs(deps).find((r) => /pnpm install/.test(r.args));
    if (!install) problems.push("the deps stage must run pnpm install");
    else
      for (const flag of ["--prod", "--frozen-lockfile", "--ignore-scripts"])
        if (!install.args.includes(flag)) problems.push(`line ${install.line}: pnpm install needs ${flag}`);
    const copied = deps.body
      .filter((i) => i.keyword === "COPY")
      .flatMap((i) => i.args.split(/\s+/).slice(0, -1))
      .filter((p) => p.startsWith("packages/"))
      .map((p) => p.replace(/\/$/, ""))
      .sort();
    const want = [...runtimePackages].sort();
    if (JSON.stringify(copied) !== JSON.stringify(want))
      problems.push(
        `the deps stage copies ${copied.join(", ") || "no packages"}; the servers import exactly ${want.join(", ")}`,
      );
  }

  for (const r of runs(runtime))
    if (/\b(npm|pnpm|yarn|corepack)\s+(install|add|i)\b/.test(r.args))
      problems.push(`line ${r.line}: the runtime stage installs packages`);
  if (!runs(runtime).some((r) => /rm -rf .*\/usr\/local\/bin\/npm/.test(r.args)))
    problems.push("the runtime stage must remove npm (and corepack, yarn) from the base");
  for (const c of runtime.body.filter((i) => i.keyword === "COPY"))
    if (!/--from=deps\b/.test(c.args))
      problems.push(`line ${c.line}: the runtime stage copies from outside the deps stage`);
  const user = runtime.body.filter((i) => i.keyword === "USER").at(-1);
  if (!user) problems.push("the runtime stage must set USER");
  else if (!/^[1-9]\d*(:[1-9]\d*)?$/.test(user.args))
    problems.push(
      `line ${user.line}: USER must be a numeric non-root uid[:gid] (Kubernetes checks runAsNonRoot by number)`,
    );
  const entry = runtime.body.filter((i) => i.keyword === "ENTRYPOINT").at(-1);
  if (entry?.args !== '["node"]')
    problems.push('the entry point must be ["node"]: the server is chosen by the command');
  return problems;
}
