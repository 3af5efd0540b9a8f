import { parseArgs } from "node:util";
import { approveCommand } from "./commands/approve.ts";
import { auditTail, auditTrace, auditVerify } from "./commands/audit.ts";
import { desktopConfigCommand } from "./commands/desktop-config.ts";
import { killSwitchCommand } from "./commands/killswitch.ts";
import { startCommand } from "./commands/start.ts";
import { stdioCommand } from "./commands/stdio.ts";
import { tokenCommand } from "./commands/token.ts";
import { cliContext, err, out } from "./context.ts";
import { servers, UsageError } from "./servers.ts";

const help = () => `gatehouse — run and operate the Gatehouse MCP servers

  start                                   issuer + every server on loopback HTTP (embedded store unless DATABASE_URL)
  stdio <server> --user <id>|--profile <id>
                                          serve one server over stdio (Claude Desktop, MCP Inspector)
  token --user <id> [--server <name>|--audience <url>] [--ttl <s>] [--scopes a,b]
                                          print a sandbox access token
  audit verify                            check the hash chain; exit 1 names the first bad event
  audit tail [-n 20] [--follow]           show the newest audit events
  audit trace <correlation-id|draft-id>   one request across every server it touched; a draft's whole life
  approve|reject <draft-id> --user <id> [--reason r]
                                          review a ticket draft and approve or reject exactly that content
  killswitch on|off <tool> [--reason r]   stop or resume a tool everywhere, without restarts
  killswitch list
  desktop-config [--user alice] [--write] [--file <path>]
                                          Claude Desktop entries (gatehouse-<server>) for every server: printed,
                                          or merged into claude_desktop_config.json (--write; --file elsewhere)

servers: ${servers()
  .map((s) => s.name)
  .join(", ")}
users:   alice (support_agent, emea), bob (support_agent, na), carol (approver, emea), erin (approver, na), dave (admin)
`;

async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      user: { type: "string" },
      profile: { type: "string" },
      audience: { type: "string" },
      server: { type: "string" },
      ttl: { type: "string" },
      scopes: { type: "string" },
      reason: { type: "string" },
      lines: { type: "string", short: "n" },
      follow: { type: "boolean", short: "f" },
      write: { type: "boolean" },
      file: { type: "string" },
      help: { type: "boolean", short: "h" },
    },
  });
  const [command, sub, arg] = positionals;
  const ctx = cliContext();
  if (values.help || !command) {
    out(help());
    return command || values.help ? 0 : 2;
  }
  switch (command) {
    case "start":
      return startCommand(ctx);
    case "stdio":
      return stdioCommand(ctx, sub, values);
    case "token":
      return tokenCommand(ctx, values);
    case "audit":
      if (sub === "verify") return auditVerify(ctx);
      if (sub === "tail") return auditTail(ctx, values);
      if (sub === "trace") return auditTrace(ctx, arg);
      throw new UsageError(
        "usage: gatehouse audit verify | tail [-n N] [--follow] | trace <correlation-id|draft-id>",
      );
    case "approve":
    case "reject":
      return approveCommand(ctx, command, sub, values);
    case "killswitch":
      return killSwitchCommand(ctx, sub, arg, values);
    case "desktop-config":
      return desktopConfigCommand(ctx, values);
    default:
      throw new UsageError(`unknown command "${command}"; run gatehouse --help`);
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (e: Error) => {
    err(
      e instanceof UsageError || (e as NodeJS.ErrnoException).code === "ERR_PARSE_ARGS_UNKNOWN_OPTION"
        ? `gatehouse: ${e.message}`
        : `gatehouse: ${e.stack ?? e.message}`,
    );
    process.exitCode = 2;
  },
);
