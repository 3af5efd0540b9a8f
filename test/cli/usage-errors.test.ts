import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { decodeJwt } from "jose";
import { afterAll, describe, expect, it } from "vitest";
import { runCli } from "../support/cli.ts";

/**
 * Every mistake in a `gatehouse` command line: exit 2, exactly one line on stderr that says what was
 * wrong, nothing on stdout, no stack trace. None of these may start anything.
 */
describe("gatehouse command-line mistakes", () => {
  const dataDir = mkdtempSync(join(tmpdir(), "gatehouse-usage-"));
  const env = {
    GATEHOUSE_DATA_DIR: dataDir,
    DATABASE_URL: "",
    GATEHOUSE_PORT_OFFSET: "",
    GATEHOUSE_TOKEN: "",
  };
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  const cases: Array<[string, string[], RegExp, Record<string, string>?]> = [
    ["unknown command", ["frobnicate"], /unknown command "frobnicate"/],
    ["unknown option", ["token", "--user", "alice", "--colour"], /unknown option --colour/],
    ["unknown short option", ["audit", "tail", "-x"], /unknown option -x/],
    [
      "option another command takes",
      ["start", "--user", "alice"],
      /start does not take --user \(it takes --public-url\)/,
    ],
    [
      "public URL that is not http(s)",
      ["start", "--public-url", "ftp://mcp.example.com"],
      /--public-url: the public URL must be an http\(s\) URL/,
    ],
    [
      "public URL with a path",
      ["start", "--public-url", "https://mcp.example.com/gatehouse"],
      /--public-url: .*no path/,
    ],
    ["public URL without a value", ["start", "--public-url"], /--public-url needs a value/],
    [
      "bad start timeout",
      ["start"],
      /GATEHOUSE_START_TIMEOUT_MS must be a whole number of milliseconds/,
      { GATEHOUSE_START_TIMEOUT_MS: "5s" },
    ],
    ["option of the wrong command", ["token", "--user", "alice", "--write"], /token does not take --write/],
    ["missing value at the end", ["token", "--user"], /--user needs a value/],
    [
      "missing value before another option",
      ["token", "--user", "--server", "crm-read"],
      /--user needs a value/,
    ],
    ["empty value", ["token", "--user="], /--user needs a value/],
    ["missing short value", ["audit", "tail", "-n"], /-n needs a value/],
    ["value for a switch", ["desktop-config", "--write=yes"], /--write takes no value/],
    ["extra argument", ["token", "--user", "alice", "order-lookup"], /unexpected argument "order-lookup"/],
    ["token without a person", ["token"], /token needs --user/],
    ["unknown person", ["token", "--user", "mallory"], /unknown user "mallory" \(--user\); .*alice/],
    ["bad ttl", ["token", "--user", "alice", "--ttl", "1h"], /--ttl must be a whole number of seconds/],
    ["ttl too long", ["token", "--user", "alice", "--ttl", "999999"], /--ttl must be .* 86400/],
    ["bad scope", ["token", "--user", "alice", "--scopes", "everything"], /"everything" is not a scope/],
    [
      "server and audience",
      ["token", "--user", "alice", "--server", "crm-read", "--audience", "http://x/mcp"],
      /not both/,
    ],
    [
      "bad audience",
      ["token", "--user", "alice", "--audience", "order-lookup"],
      /--audience must be a server's http\(s\) URL/,
    ],
    [
      "unknown server (token)",
      ["token", "--user", "alice", "--server", "orders"],
      /unknown server "orders"; known servers: .*order-lookup/,
    ],
    ["stdio without a server", ["stdio"], /stdio needs a server name/],
    ["unknown server (stdio)", ["stdio", "orders", "--user", "alice"], /unknown server "orders"/],
    ["stdio without an identity", ["stdio", "order-lookup"], /stdio needs --user <id> .* or --profile <id>/],
    [
      "stdio with both identities",
      ["stdio", "order-lookup", "--user", "alice", "--profile", "alice"],
      /not both/,
    ],
    [
      "unknown person (stdio)",
      ["stdio", "order-lookup", "--user", "mallory"],
      /unknown user "mallory" \(--user\)/,
    ],
    [
      "unknown profile",
      ["stdio", "order-lookup", "--profile", "mallory"],
      /unknown user "mallory" \(--profile\)/,
    ],
    [
      "profile for a server that exchanges tokens",
      ["stdio", "business", "--profile", "alice"],
      /use --user alice/,
    ],
    [
      "ttl without --user",
      ["stdio", "order-lookup", "--profile", "alice", "--ttl", "60"],
      /--ttl .* needs --user/,
    ],
    ["audit without a subcommand", ["audit"], /usage: gatehouse audit verify/],
    ["unknown audit subcommand", ["audit", "check"], /unknown audit command "check"/],
    ["audit tail -n out of range", ["audit", "tail", "-n", "0"], /-n must be between 1 and 10000/],
    ["audit verify with an option", ["audit", "verify", "--follow"], /audit verify takes no options/],
    ["audit trace without an id", ["audit", "trace"], /audit trace needs a correlation id/],
    ["killswitch without a tool", ["killswitch", "on"], /usage: gatehouse killswitch/],
    ["killswitch with a bad tool name", ["killswitch", "on", "get order"], /"get order" is not a tool name/],
    ["access without a subcommand", ["access"], /usage: gatehouse access list/],
    [
      "access list with a revoke option",
      ["access", "list", "--reason", "x"],
      /access does not take --reason/,
    ],
    ["revoke without a reason", ["revoke", "person", "alice"], /--reason is required/],
    ["approve without a draft", ["approve", "--user", "carol"], /approve needs a draft id/],
    ["approve a malformed draft id", ["reject", "dr_1", "--user", "carol"], /reject needs a draft id/],
    [
      "approve as an unknown person",
      ["approve", "dr_AAAAAAAAAAAA", "--user", "mallory"],
      /unknown user "mallory"/,
    ],
    [
      "desktop-config for an unknown person",
      ["desktop-config", "--user", "mallory"],
      /unknown user "mallory"/,
    ],
    [
      "bad port offset",
      ["token", "--user", "alice"],
      /GATEHOUSE_PORT_OFFSET must be 0, 100, 200/,
      { GATEHOUSE_PORT_OFFSET: "150" },
    ],
  ];

  it.each(cases)("%s: exit 2, one line, no stack", (_what, args, message, extra) => {
    const r = runCli(args, { ...env, ...extra });
    expect(r.status, r.stderr).toBe(2);
    expect(r.stdout).toBe("");
    const lines = r.stderr.split("\n").filter((l) => l !== "");
    expect(lines, r.stderr).toHaveLength(1);
    expect(lines[0]).toMatch(/^gatehouse: /);
    expect(lines[0]).toMatch(message);
    expect(r.stderr).not.toMatch(/^\s+at /m);
  });

  it("prints the help on --help and with no command, and exits 0", () => {
    for (const args of [["--help"], []]) {
      const r = runCli(args, env);
      expect(r.status).toBe(0);
      expect(r.stdout).toMatch(/stdio <server> --profile <id>/);
    }
  });
});

describe("gatehouse token", () => {
  const dataDir = mkdtempSync(join(tmpdir(), "gatehouse-token-"));
  const env = {
    GATEHOUSE_DATA_DIR: dataDir,
    DATABASE_URL: "",
    GATEHOUSE_PORT_OFFSET: "",
    GATEHOUSE_ISSUER: "",
  };
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  it("says on stderr which server the token is for when --server is not given; stdout is the bare token", () => {
    const r = runCli(["token", "--user", "alice"], env);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+\n$/);
    expect(decodeJwt(r.stdout.trim()).aud).toBe("http://127.0.0.1:7101/mcp");
    expect(r.stderr).toBe(
      "token for order-lookup (audience http://127.0.0.1:7101/mcp); pass --server <name> for another server\n",
    );
  });

  it("says nothing on stderr when the server is named, and follows GATEHOUSE_PORT_OFFSET", () => {
    const r = runCli(["token", "--user", "bob", "--server", "crm-read"], {
      ...env,
      GATEHOUSE_PORT_OFFSET: "200",
    });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toBe("");
    const claims = decodeJwt(r.stdout.trim());
    expect(claims.aud).toBe("http://127.0.0.1:7302/mcp");
    expect(claims.iss).toBe("http://127.0.0.1:7300");
  });
});
