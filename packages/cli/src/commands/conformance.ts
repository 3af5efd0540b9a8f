import { relative } from "node:path";
import { mintToken } from "@gatehouse/sandbox/issuer";
import { loadOrCreateIssuerKeys } from "@gatehouse/sandbox/issuer-keys";
import {
  CONFORMANCE_REQUIREMENTS,
  compareWithBaseline,
  describeChecks,
  expectedFailuresFile,
  readExpectedFailures,
  runConformance,
  startBearerProxy,
} from "@gatehouse/testing";
import { type CliContext, err, out } from "../context.ts";
import { defaultResourceUrl, findServer, REPO_ROOT, UsageError } from "../servers.ts";

/**
 * `gatehouse conformance <server> [--user alice] [--audience <url>] [--requirements 2025-11-25,2026-07-28]`
 *
 * Runs the MCP conformance CLI's server suite against a running server (`gatehouse start`), for each
 * requirement set, and judges the results against test/conformance/expected-failures-<set>.yaml. The CLI
 * cannot send a bearer token, so it talks to a loopback proxy that adds a freshly minted sandbox token;
 * the server itself is unchanged and still refuses anyone without one. Exit 1 on any unexpected failure
 * or stale expected failure.
 */
export async function conformanceCommand(
  ctx: CliContext,
  serverName: string | undefined,
  opts: { user?: string; audience?: string; requirements?: string },
): Promise<number> {
  if (!serverName)
    throw new UsageError(
      "conformance needs a server: gatehouse conformance <server> [--user alice] [--requirements 2026-07-28]",
    );
  const server = findServer(serverName);
  const url = opts.audience ?? defaultResourceUrl(server);
  const requirements = opts.requirements
    ? opts.requirements
        .split(",")
        .map((r) => r.trim())
        .filter(Boolean)
    : [...CONFORMANCE_REQUIREMENTS];
  for (const r of requirements)
    if (!(CONFORMANCE_REQUIREMENTS as readonly string[]).includes(r))
      throw new UsageError(
        `--requirements ${r} is not a requirement set Gatehouse is held to; use ${CONFORMANCE_REQUIREMENTS.join(" or ")}`,
      );

  // Fail early and clearly when nothing is serving there, rather than with 60 connection errors.
  const health = new URL("/healthz", url);
  try {
    const res = await fetch(health, { signal: AbortSignal.timeout(5_000) });
    if (!res.ok) throw new Error(`HTTP ${res.status}`);
  } catch (e) {
    err(
      `gatehouse: ${server.name} does not answer at ${health} (${(e as Error).message}). Start it with ` +
        "`pnpm gatehouse start`, or pass --audience <its MCP URL>.",
    );
    return 1;
  }

  const user = opts.user ?? "alice";
  const token = await mintToken(await loadOrCreateIssuerKeys(ctx.dataDir), {
    issuer: ctx.issuer,
    user,
    audience: url,
    ttlSeconds: 900,
  });
  const proxy = await startBearerProxy({ target: url, token });
  err(`• ${server.name} at ${url}, as ${user}, through a bearer-adding proxy on ${proxy.url}`);
  let ok = true;
  try {
    for (const set of requirements) {
      const file = expectedFailuresFile(set);
      const where = relative(REPO_ROOT, file);
      err(`• conformance --requirements ${set} (expected failures: ${where})`);
      const run = await runConformance({ url: proxy.url, requirements: set, expectedFailures: file });
      const summary = run.stdout.indexOf("=== SUMMARY ===");
      out(summary === -1 ? run.stdout : run.stdout.slice(summary));
      if (Object.keys(run.scenarios).length === 0) {
        err(`gatehouse: the conformance CLI ran no scenario (exit ${run.code}):\n${run.stderr}`);
        ok = false;
        continue;
      }
      const verdict = compareWithBaseline(run.scenarios, readExpectedFailures(file));
      out(`${set}: ${verdict.expected.length} expected failure(s) as listed in ${where}`);
      if (verdict.unexpected.length)
        out(`${set}: UNEXPECTED failures:\n${describeChecks(run.scenarios, verdict.unexpected)}`);
      if (verdict.stale.length)
        out(
          `${set}: listed as expected failures but now passing (remove them):\n  ${verdict.stale.join("\n  ")}`,
        );
      if (verdict.notRun.length)
        out(`${set}: listed but not run by this requirement set:\n  ${verdict.notRun.join("\n  ")}`);
      const clean = !verdict.unexpected.length && !verdict.stale.length && !verdict.notRun.length;
      out(`${set}: ${clean && run.code === 0 ? "PASS" : "FAIL"}\n`);
      ok &&= clean && run.code === 0;
    }
  } finally {
    await proxy.close();
  }
  return ok ? 0 : 1;
}
