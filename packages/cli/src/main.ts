import { enableCompileCache } from "node:module";
import { parseArgs } from "node:util";
import { UsageError } from "./usage-error.ts";

// Node keeps compiled modules (type-stripped TypeScript included) on disk, so later runs skip stripping and
// compiling them. It has to be on before anything else loads: everything below is imported dynamically,
// and each command loads only its own modules (`stdio order-lookup` needs neither the other servers'
// stand-ins, Prisma, the identity provider nor the conformance runner).
enableCompileCache();
const { cliContext, dataDirOf, err, out } = await import("./context.ts");

const help = (
  servers: () => Array<{ name: string }>,
) => `gatehouse — run and operate the Gatehouse MCP servers

  start                                   issuer + every server on loopback HTTP (embedded store unless DATABASE_URL)
  start --public-url <https://host>       the same behind one front door (HAProxy) for a tunnel: every server at
                                          <url>/<server>/mcp, the sandbox issuer at <url> (GATEHOUSE_PUBLIC_BASE_URL)
  stdio <server> --user <id> [--ttl <s>]  serve one server over stdio (Claude Desktop, MCP Inspector) as a sandbox
                                          person: a token minted now (8 h unless --ttl), verified like any other;
                                          when it expires, calls are refused: restart the client to get a new one
  stdio <server> --profile <id>           the same with no token: the person's roles from the sandbox identities
                                          (GATEHOUSE_PROFILES_FILE), marked env=local in every audit event;
                                          not for business (it needs a token to act at the other servers)
  stdio <server>                          with GATEHOUSE_TOKEN set: serve with that token
  token --user <id> [--server <name>|--audience <url>] [--ttl <s>] [--scopes a,b]
                                          print a sandbox access token (for order-lookup unless --server)
  conformance <server> [--user alice] [--requirements 2025-11-25,2026-07-28] [--audience <url>]
                                          run the MCP conformance suite against a running server, through a
                                          loopback proxy that adds alice's token; judged by test/conformance/
  audit verify                            check the hash chain; exit 1 names the first bad event
  audit tail [-n 20] [--follow]           show the newest audit events
  audit trace <correlation-id|draft-id>   one request across every server it touched; a draft's whole life
  approve|reject <draft-id> --user <id> [--reason r]
                                          review a ticket draft and approve or reject exactly that content
  killswitch on|off <tool> [--reason r]   stop or resume a tool everywhere, without restarts
  killswitch list
  revoke person|client|token <id> --reason r
                                          take access away everywhere: every server refuses the person's, client's
                                          or token's access tokens within 2 s; the sandbox issuer drops its grants,
                                          sessions and refresh tokens
  access list [--person <id>]             who has access from where: clients, servers, transports, tokens in use
  keys rotate [--lead <s>]                rotate the sandbox issuer's signing key without downtime: the new key is
                                          published now and signs after the lead (60 s); the old one stays
                                          published until every token it signed has expired
  keys list                               the issuer's keys and where each is in its life
  desktop-config [--user alice] [--write] [--file <path>]
                                          Claude Desktop entries (gatehouse-<server>) for every server: printed,
                                          or merged into claude_desktop_config.json (--write; --file elsewhere)

Commands reach the ports of the \`gatehouse start\` running on the same data directory (GATEHOUSE_DATA_DIR)
by themselves; GATEHOUSE_PORT_OFFSET overrides. A mistake in the command line exits 2 with one line on stderr.

servers: ${servers()
  .map((s) => s.name)
  .join(", ")}
users:   alice (support_agent, emea), bob (support_agent, na), carol (approver, emea), erin (approver, na), dave (admin)
`;

const OPTIONS = {
  user: { type: "string" },
  profile: { type: "string" },
  audience: { type: "string" },
  server: { type: "string" },
  ttl: { type: "string" },
  scopes: { type: "string" },
  requirements: { type: "string" },
  reason: { type: "string" },
  lines: { type: "string", short: "n" },
  follow: { type: "boolean", short: "f" },
  write: { type: "boolean" },
  file: { type: "string" },
  lead: { type: "string" },
  person: { type: "string" },
  "public-url": { type: "string" },
  help: { type: "boolean", short: "h" },
} as const;
type Option = keyof typeof OPTIONS;

/**
 * What each command accepts: its options and how many positional arguments (after the command) at most.
 * Anything else is refused rather than ignored, so a typo never runs a command with a default instead.
 */
const COMMANDS: Record<string, { options: Option[]; positionals: number }> = {
  start: { options: ["public-url"], positionals: 0 },
  stdio: { options: ["user", "profile", "ttl"], positionals: 1 },
  token: { options: ["user", "audience", "server", "ttl", "scopes"], positionals: 0 },
  audit: { options: ["lines", "follow"], positionals: 2 },
  approve: { options: ["user", "reason"], positionals: 1 },
  reject: { options: ["user", "reason"], positionals: 1 },
  killswitch: { options: ["reason"], positionals: 2 },
  revoke: { options: ["reason"], positionals: 2 },
  access: { options: ["person"], positionals: 1 },
  keys: { options: ["lead"], positionals: 1 },
  "desktop-config": { options: ["user", "write", "file"], positionals: 0 },
  conformance: { options: ["user", "audience", "requirements"], positionals: 1 },
};

const flag = (name: Option) => (name === "lines" ? "-n" : `--${name}`);

/** parseArgs's own errors, as one line naming the option. */
function parseError(e: NodeJS.ErrnoException): UsageError {
  const m = e.message;
  const name = /'(-[^' ,<]+)/.exec(m)?.[1] ?? "an option";
  if (e.code === "ERR_PARSE_ARGS_UNKNOWN_OPTION")
    return new UsageError(`unknown option ${name}; run gatehouse --help`);
  if (/does not take an argument/.test(m)) return new UsageError(`${name} takes no value`);
  // "Option '-n, --lines <value>' …" names the short form first: the one people type here.
  if (/argument missing|ambiguous/.test(m)) return new UsageError(`${name} needs a value`);
  return new UsageError(m.split("\n")[0]!);
}

async function main(argv: string[]): Promise<number> {
  let parsed: ReturnType<
    typeof parseArgs<{ args: string[]; allowPositionals: true; options: typeof OPTIONS }>
  >;
  try {
    parsed = parseArgs({ args: argv, allowPositionals: true, options: OPTIONS });
  } catch (e) {
    if (String((e as NodeJS.ErrnoException).code).startsWith("ERR_PARSE_ARGS_"))
      throw parseError(e as NodeJS.ErrnoException);
    throw e;
  }
  const { values, positionals } = parsed;
  const [command, sub, arg] = positionals;
  if (values.help || !command) {
    out(help((await import("./servers.ts")).servers));
    return 0;
  }
  const spec = COMMANDS[command];
  if (!spec) throw new UsageError(`unknown command "${command}"; run gatehouse --help`);
  for (const [name, value] of Object.entries(values) as Array<[Option, unknown]>) {
    if (value === undefined || name === "help") continue;
    if (!spec.options.includes(name))
      throw new UsageError(
        spec.options.length
          ? `${command} does not take ${flag(name)} (it takes ${spec.options.map(flag).join(", ")})`
          : `${command} takes no options (got ${flag(name)})`,
      );
    // `--user=` is a missing value too, not a person called "".
    if (value === "") throw new UsageError(`${flag(name)} needs a value`);
  }
  if (positionals.length - 1 > spec.positionals)
    throw new UsageError(
      `unexpected argument "${positionals[spec.positionals + 1]}" after gatehouse ${positionals
        .slice(0, spec.positionals + 1)
        .join(" ")}; run gatehouse --help`,
    );

  if (command !== "start") (await import("./ports.ts")).adoptRunningOffset(dataDirOf());
  const ctx = cliContext();
  switch (command) {
    case "start":
      return (await import("./commands/start.ts")).startCommand(ctx, { publicUrl: values["public-url"] });
    case "stdio":
      return (await import("./commands/stdio.ts")).stdioCommand(ctx, sub, values);
    case "token":
      return (await import("./commands/token.ts")).tokenCommand(ctx, values);
    case "audit": {
      const { auditTail, auditTrace, auditVerify } = await import("./commands/audit.ts");
      if (sub === "verify" || sub === "tail") {
        if (arg !== undefined)
          throw new UsageError(`unexpected argument "${arg}" after gatehouse audit ${sub}`);
        if (sub === "verify" && (values.lines !== undefined || values.follow))
          throw new UsageError("audit verify takes no options");
        return sub === "verify" ? auditVerify(ctx) : auditTail(ctx, values);
      }
      if (sub === "trace") {
        if (values.lines !== undefined || values.follow) throw new UsageError("audit trace takes no options");
        return auditTrace(ctx, arg);
      }
      throw new UsageError(
        `${sub ? `unknown audit command "${sub}"; ` : ""}usage: gatehouse audit verify | tail [-n N] [--follow] | trace <correlation-id|draft-id>`,
      );
    }
    case "approve":
    case "reject":
      return (await import("./commands/approve.ts")).approveCommand(ctx, command, sub, values);
    case "killswitch":
      return (await import("./commands/killswitch.ts")).killSwitchCommand(ctx, sub, arg, values);
    case "revoke":
      return (await import("./commands/revoke.ts")).revokeCommand(ctx, sub, arg, values);
    case "access":
      return (await import("./commands/access.ts")).accessCommand(ctx, sub, values);
    case "keys":
      return (await import("./commands/keys.ts")).keysCommand(ctx, sub, values);
    case "conformance":
      return (await import("./commands/conformance.ts")).conformanceCommand(ctx, sub, values);
    case "desktop-config":
      return (await import("./commands/desktop-config.ts")).desktopConfigCommand(ctx, values);
    default:
      throw new UsageError(`unknown command "${command}"; run gatehouse --help`);
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (e: Error) => {
    if (e instanceof UsageError) {
      // One line whatever the message holds, so a script (or Claude Desktop's log) gets exactly one.
      err(`gatehouse: ${e.message.replace(/\s*\n\s*/g, " ")}`);
      process.exitCode = 2;
      return;
    }
    // Not a mistake in the command line: a failure while working, whose stack is worth having.
    err(`gatehouse: ${e.stack ?? e.message}`);
    process.exitCode = 1;
  },
);
