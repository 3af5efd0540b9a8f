import { isAbsolute, relative } from "node:path";
import { parseArgs } from "node:util";
import { SYSTEMS } from "../packages/cli/src/servers.ts";
import { GenError, GRANTED_ROLES, generateServer } from "./gen-server.ts";

const USAGE = `usage: pnpm gen server <name> [--port <n>] [--dir <folder>] [--identities <file>]

  server <name>        a new governed server package in servers/<name>: package.json (with its
                       "gatehouse" block and the next free port), src/server.ts, src/main.ts, one sample
                       read tool, its Cedar policy and a test that runs the kit's shared server suite
  --port <n>           its port under \`gatehouse start\` (default: the next free one)
  --dir <folder>       create the package there instead of servers/<name>
  --identities <file>  the sandbox identities that get the new scope (default packages/sandbox/identities.json)
`;

function main(argv: string[]): number {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      port: { type: "string" },
      dir: { type: "string" },
      identities: { type: "string" },
      help: { type: "boolean", short: "h" },
    },
  });
  const [kind, name, ...extra] = positionals;
  if (values.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  if (kind !== "server" || !name || extra.length) {
    process.stderr.write(USAGE);
    return 2;
  }
  const port = values.port === undefined ? undefined : Number(values.port);
  const g = generateServer({ name, port, dir: values.dir, identities: values.identities });
  const rel = (p: string) => {
    const r = relative(process.cwd(), p);
    return r.startsWith("..") || isAbsolute(r) ? p : r || ".";
  };
  const out = (line = "") => process.stdout.write(`${line}\n`);
  out(`created ${rel(g.dir)}: @gatehouse/${g.name} on port ${g.port}, tool ${g.tool} (scope ${g.scope})`);
  for (const f of g.files) out(`  ${f}`);
  out(
    g.granted.length
      ? `granted ${g.scope} to ${g.granted.join(" and ")} in ${rel(g.identities)} (sandbox tokens carry it now)`
      : `${GRANTED_ROLES.join(" and ")} already hold ${g.scope} in ${rel(g.identities)}`,
  );
  out();
  out("next steps:");
  const step = (command: string, why: string) => out(`  ${command}\n      ${why}`);
  step("pnpm install", "links the new package into the workspace");
  step(
    `pnpm vitest run --project ${g.name}`,
    "runs its tests; the first run writes its pinned tool definitions (test/__snapshots__): commit them",
  );
  step("pnpm gatehouse start", `serves it with the others, on http://127.0.0.1:${g.port}/mcp`);
  step(`pnpm gatehouse stdio ${g.name} --user alice`, "serves it over stdio, as Claude Desktop would");
  step("pnpm gatehouse desktop-config --write", "adds it (and the others) to Claude Desktop");
  out();
  out(`then make it yours: replace src/tools/ping-${g.name}.ts with real tools (one file each), say who may`);
  out(
    `call them in policy/${g.name}.cedar, and list the systems it reads in package.json "gatehouse.systems"`,
  );
  out(`(${SYSTEMS.join(", ")}); servers/order-lookup is a complete example.`);
  return 0;
}

try {
  process.exitCode = main(process.argv.slice(2));
} catch (e) {
  const known =
    e instanceof GenError || (e as NodeJS.ErrnoException).code === "ERR_PARSE_ARGS_UNKNOWN_OPTION";
  process.stderr.write(`gen: ${known ? (e as Error).message : ((e as Error).stack ?? String(e))}\n`);
  process.exitCode = known ? 2 : 1;
}
