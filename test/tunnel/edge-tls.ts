import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { type Namespaces, probe, run } from "./namespaces.ts";

/**
 * The public side of the tunnel's edge, as a vendor's edge is: TLS terminated there (HAProxy from Debian,
 * TCP mode, with a certificate from a throwaway CA made here), the plain stream handed to the tunnel's
 * listener on the edge's loopback. OAuth clients insist on HTTPS for anything but localhost, so the public
 * URL is https://<edge address>; whoever must trust it (the agent, and business calling the other servers'
 * public URLs) gets the CA through NODE_EXTRA_CA_CERTS.
 */
export interface EdgeTls {
  /** The CA certificate to trust (a PEM file). */
  caFile: string;
  stop(): Promise<void>;
}

const OPENSSL = "/usr/bin/openssl";

/** A CA and a server certificate for `ip` (its subjectAltName), valid one day. */
function makeCertificates(dir: string, ip: string) {
  const p = (f: string) => join(dir, f);
  const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"];
  run(OPENSSL, [
    "req",
    "-x509",
    ...ec,
    "-keyout",
    p("ca.key"),
    "-out",
    p("ca.crt"),
    "-days",
    "1",
    "-subj",
    "/CN=gatehouse tunnel test CA",
  ]);
  run(OPENSSL, ["req", ...ec, "-keyout", p("edge.key"), "-out", p("edge.csr"), "-subj", `/CN=${ip}`]);
  writeFileSync(
    p("edge.ext"),
    `subjectAltName=IP:${ip}\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature\nextendedKeyUsage=serverAuth\n`,
  );
  run(OPENSSL, [
    "x509",
    "-req",
    "-in",
    p("edge.csr"),
    "-CA",
    p("ca.crt"),
    "-CAkey",
    p("ca.key"),
    "-CAcreateserial",
    "-out",
    p("edge.crt"),
    "-days",
    "1",
    "-extfile",
    p("edge.ext"),
  ]);
  writeFileSync(p("edge.pem"), readFileSync(p("edge.crt"), "utf8") + readFileSync(p("edge.key"), "utf8"), {
    mode: 0o600,
  });
  return { caFile: p("ca.crt"), pem: p("edge.pem") };
}

/** HAProxy in edge: TLS on `publicSide`:443, passed on to the tunnel's listener at `tunnel`. */
export async function startEdgeTls(
  ns: Namespaces,
  dir: string,
  publicSide: string,
  tunnel: { host: string; port: number },
): Promise<EdgeTls> {
  mkdirSync(dir, { recursive: true });
  const { caFile, pem } = makeCertificates(dir, publicSide);
  const config = join(dir, "edge-haproxy.cfg");
  writeFileSync(
    config,
    [
      "global",
      "  maxconn 256",
      "defaults",
      "  mode tcp",
      "  timeout connect 2s",
      "  timeout client 60s",
      "  timeout server 60s",
      "frontend public",
      `  bind ${publicSide}:443 ssl crt ${pem}`,
      "  default_backend tunnel",
      "backend tunnel",
      `  server tunnel ${tunnel.host}:${tunnel.port}`,
      "",
    ].join("\n"),
  );
  const child: ChildProcess = spawn(
    ns.exec(ns.edge)[0]!,
    [...ns.exec(ns.edge).slice(1), "/usr/sbin/haproxy", "-f", config, "-db"],
    { stdio: ["ignore", "ignore", "pipe"] },
  );
  let log = "";
  child.stderr!.setEncoding("utf8");
  child.stderr!.on("data", (c: string) => {
    log = (log + c).slice(-8 * 1024);
  });
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = once(child, "exit");
    child.kill("SIGKILL");
    await exited;
  };
  // Listening once a connection from inside edge succeeds.
  for (let i = 0; ; i++) {
    if (child.exitCode !== null) throw new Error(`HAProxy in edge exited (${child.exitCode}):\n${log}`);
    if ((await probe(ns, ns.edge, publicSide, 443, 1)).outcome === "connected") break;
    if (i > 100) {
      await stop();
      throw new Error(`HAProxy in edge did not listen on ${publicSide}:443:\n${log}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return { caFile, stop };
}
