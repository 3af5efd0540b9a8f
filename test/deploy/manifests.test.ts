import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import {
  fromYaml,
  type KubernetesObject,
  loadValues,
  mergeValues,
  parseValues,
  renderObjects,
  SECRET_VARIABLES,
  schemaProblems,
  serverEgress,
  serverFacts,
  toYaml,
  type Values,
} from "../../deploy/src/index.ts";

const PRODUCTION = join(import.meta.dirname, "..", "..", "deploy", "values", "production.yaml");
const facts = serverFacts();

// What a Deployment or Job carries, loosely typed: the assertions read the rendered objects as data.
type Container = {
  name: string;
  args?: string[];
  env?: Array<{ name: string; value?: string; valueFrom?: { secretKeyRef?: { name: string; key: string } } }>;
  ports?: Array<{ name?: string; containerPort: number }>;
  securityContext?: Record<string, unknown> & { capabilities?: { drop?: string[]; add?: string[] } };
  readinessProbe?: { httpGet?: { path: string; port: string | number } };
  livenessProbe?: { httpGet?: { path: string; port: string | number } };
  volumeMounts?: Array<{ name: string; mountPath: string; readOnly?: boolean }>;
};
type PodSpec = {
  securityContext?: Record<string, unknown>;
  automountServiceAccountToken?: boolean;
  containers: Container[];
  initContainers?: Container[];
  volumes?: Array<{ name: string; emptyDir?: unknown } & Record<string, unknown>>;
};
type Workload = KubernetesObject & {
  metadata: { name: string; labels: Record<string, string> };
  spec: { template: { spec: PodSpec } };
};
type Policy = KubernetesObject & {
  metadata: { name: string; labels: Record<string, string> };
  spec: {
    podSelector: { matchLabels?: Record<string, string> };
    policyTypes: string[];
    ingress?: Array<{ from?: unknown[]; ports?: Array<{ port: number }> }>;
    egress?: Array<{ to?: unknown[]; ports?: unknown[] }>;
  };
};

const component = (o: { metadata: { labels: Record<string, string> } }) =>
  o.metadata.labels["app.kubernetes.io/component"];
const ofKind = <T>(objects: KubernetesObject[], kind: string) =>
  objects.filter((o) => o.kind === kind) as unknown as T[];

const renderings: Array<[string, Values]> = [
  ["the default values", loadValues()],
  ["the production values", loadValues([PRODUCTION])],
];

describe.each(renderings)("the manifests rendered from %s", (_, values) => {
  const objects = renderObjects(values);
  const workloads = [...ofKind<Workload>(objects, "Deployment"), ...ofKind<Workload>(objects, "Job")];
  const deployments = ofKind<Workload>(objects, "Deployment");

  it("validate against the Kubernetes schemas, object by object", () => {
    expect(objects.length).toBeGreaterThan(20);
    for (const o of objects) expect(schemaProblems(o), `${o.kind}/${o.metadata?.name}`).toEqual([]);
    expect(toYaml(objects).match(/^kind: /gm)).toHaveLength(objects.length);
  });

  it("deploy every server, each with a Service, NetworkPolicy, PodDisruptionBudget and its own account, and the migrations as a Job", () => {
    for (const f of facts) {
      for (const kind of ["Deployment", "Service", "NetworkPolicy", "PodDisruptionBudget", "ServiceAccount"])
        expect(
          objects.some((o) => o.kind === kind && o.metadata?.name === `${values.release}-${f.name}`),
          `${kind} for ${f.name}`,
        ).toBe(true);
    }
    const autoscaled = ofKind<KubernetesObject & { spec: { scaleTargetRef: { name: string } } }>(
      objects,
      "HorizontalPodAutoscaler",
    );
    expect(autoscaled.length).toBeGreaterThanOrEqual(4);
    for (const hpa of autoscaled)
      expect(deployments.map((d) => d.metadata.name)).toContain(hpa.spec.scaleTargetRef.name);
    const job = ofKind<Workload>(objects, "Job");
    expect(job).toHaveLength(1);
    expect(job[0]!.spec.template.spec.containers[0]!.args).toEqual(["packages/store/src/migrate-main.ts"]);
    expect(objects.some((o) => component(o as Workload) === "console")).toBe(false);
  });

  it("run every container as non-root on a read-only root with no capabilities, writing only to an emptyDir /tmp", () => {
    expect(workloads.length).toBe(facts.length + 1);
    for (const w of workloads) {
      const pod = w.spec.template.spec;
      expect(pod.securityContext, w.metadata.name).toMatchObject({
        runAsNonRoot: true,
        seccompProfile: { type: "RuntimeDefault" },
      });
      expect(pod.securityContext?.runAsUser).toBeGreaterThan(0);
      expect(pod.automountServiceAccountToken).toBe(false);
      for (const c of [...pod.containers, ...(pod.initContainers ?? [])]) {
        expect(c.securityContext, `${w.metadata.name}/${c.name}`).toMatchObject({
          runAsNonRoot: true,
          readOnlyRootFilesystem: true,
          allowPrivilegeEscalation: false,
          privileged: false,
          capabilities: { drop: ["ALL"] },
          seccompProfile: { type: "RuntimeDefault" },
        });
        expect(c.securityContext?.capabilities?.add ?? []).toEqual([]);
        const writable = (c.volumeMounts ?? []).filter((m) => !m.readOnly);
        expect(writable.map((m) => m.mountPath)).toEqual(["/tmp"]);
      }
      expect(pod.volumes?.map((v) => Object.keys(v).sort())).toEqual([["emptyDir", "name"]]);
    }
  });

  it("probe every server's readiness on /readyz and liveness on /healthz, on the port it listens on", () => {
    for (const d of deployments) {
      const f = facts.find((x) => x.name === component(d))!;
      const c = d.spec.template.spec.containers[0]!;
      expect(c.args).toEqual([f.entryPoint, "http"]);
      expect(c.ports).toEqual([expect.objectContaining({ name: "http", containerPort: f.port })]);
      expect(c.env?.find((e) => e.name === "GATEHOUSE_PORT")?.value).toBe(String(f.port));
      expect(c.env?.find((e) => e.name === "GATEHOUSE_PUBLIC_URL")?.value).toBe(
        `${values.publicBaseUrl}/${f.name}/mcp`,
      );
      expect(c.readinessProbe?.httpGet).toEqual({ path: "/readyz", port: "http" });
      expect(c.livenessProbe?.httpGet).toEqual({ path: "/healthz", port: "http" });
    }
  });

  it("set only variables the servers read (or, for OTEL_*, the OpenTelemetry SDK as observability.md lists)", () => {
    const repo = join(import.meta.dirname, "..", "..");
    const sources = [
      "packages/kit/src",
      "packages/governance/src",
      "packages/store/src",
      "packages/tickets/src",
    ]
      .concat(facts.map((f) => `servers/${f.name}/src`))
      .flatMap((dir) =>
        (readdirSync(join(repo, dir), { recursive: true }) as string[])
          .filter((f) => f.endsWith(".ts"))
          .map((f) => readFileSync(join(repo, dir, f), "utf8")),
      )
      .join("\n");
    const observability = readFileSync(join(repo, "docs", "observability.md"), "utf8");
    const names = new Set(
      workloads.flatMap((w) =>
        w.spec.template.spec.containers.flatMap((c) => (c.env ?? []).map((e) => e.name)),
      ),
    );
    for (const name of names) {
      const read = name.startsWith("OTEL_")
        ? observability.includes(`\`${name}\``)
        : new RegExp(`\\b${name}\\b`).test(sources);
      expect(read, `${name} is rendered but nothing reads it`).toBe(true);
    }
  });

  it("take every credential from a Secret by reference: no Secret objects, no inline value for a credential", () => {
    expect(objects.filter((o) => o.kind === "Secret")).toEqual([]);
    for (const w of workloads)
      for (const c of w.spec.template.spec.containers)
        for (const e of c.env ?? []) {
          const credential =
            (SECRET_VARIABLES as readonly string[]).includes(e.name) ||
            /SECRET|PASSWORD|API_KEY|_TOKEN$/.test(e.name);
          if (credential) {
            expect(e.value, `${w.metadata.name} ${e.name}`).toBeUndefined();
            expect(e.valueFrom?.secretKeyRef?.key, `${w.metadata.name} ${e.name}`).toBeTruthy();
          }
          expect(e.value ?? "", `${w.metadata.name} ${e.name}`).not.toMatch(/:\/\/[^/\s:@]+:[^/\s@]+@/);
        }
  });

  it("give each server only its own system's credentials and settings", () => {
    const owners: Record<string, string[]> = {
      ORDERS_DATABASE_URL: ["order-lookup"],
      HUBSPOT_ACCESS_TOKEN: ["crm-read"],
      JIRA_API_TOKEN: ["ticket-draft", "ticket-send"],
      BUSINESS_CLIENT_SECRET: ["business"],
    };
    for (const [variable, servers] of Object.entries(owners)) {
      const holders = deployments
        .filter((d) => d.spec.template.spec.containers[0]!.env?.some((e) => e.name === variable))
        .map(component);
      expect(holders.sort(), variable).toEqual([...servers].sort());
    }
  });

  it("let each server reach only the store, the issuer, DNS, Redis and the collector when on, and its own systems; let in only the front door", () => {
    const policies = ofKind<Policy>(objects, "NetworkPolicy");
    const deny = policies.find((p) => p.metadata.name === `${values.release}-default-deny`)!;
    expect(deny.spec).toEqual({
      podSelector: {
        matchLabels: { "app.kubernetes.io/name": "gatehouse", "app.kubernetes.io/instance": values.release },
      },
      policyTypes: ["Ingress", "Egress"],
    });
    for (const f of facts) {
      const p = policies.find((x) => x.metadata.name === `${values.release}-${f.name}`)!;
      expect(p.spec.policyTypes).toEqual(["Ingress", "Egress"]);
      expect(p.spec.podSelector.matchLabels?.["app.kubernetes.io/component"]).toBe(f.name);
      expect(p.spec.ingress).toHaveLength(1);
      expect(p.spec.ingress![0]!.ports).toEqual([{ protocol: "TCP", port: f.port }]);
      // Exactly the listed destinations, in order: nothing more, and never a rule without destinations.
      const expected = ["dns", "store", "issuer"];
      if (values.redis.enabled) expected.push("redis");
      if (values.otel.enabled) expected.push("otel");
      expected.push(...f.systems);
      const listed = serverEgress(values, f);
      expect(
        listed.map((r) => r.name),
        f.name,
      ).toEqual(expected);
      expect(p.spec.egress).toEqual(listed.map((r) => r.rule));
      for (const rule of p.spec.egress!) {
        expect(rule.to?.length, f.name).toBeGreaterThan(0);
        expect(rule.ports?.length, f.name).toBeGreaterThan(0);
      }
      // No server can reach another server's system.
      const systemPeers = (["orders", "hubspot", "jira"] as const)
        .filter((s) => !f.systems.includes(s))
        .map((s) =>
          JSON.stringify(
            serverEgress(values, facts.find((x) => x.systems.includes(s))!).find((r) => r.name === s)!.rule,
          ),
        );
      for (const other of systemPeers)
        expect(p.spec.egress!.map((r) => JSON.stringify(r))).not.toContain(other);
    }
    const migrate = policies.find((p) => component(p) === "migrate")!;
    expect(migrate.spec.ingress).toEqual([]);
    expect(migrate.spec.egress).toEqual([
      serverEgress(values, facts[0]!).find((r) => r.name === "dns")!.rule,
      serverEgress(values, facts[0]!).find((r) => r.name === "store")!.rule,
    ]);
  });
});

describe("the production values", () => {
  it("turn on Redis-shared limits and OpenTelemetry export for every server, pinned to an image digest", () => {
    const objects = renderObjects(loadValues([PRODUCTION]));
    for (const d of ofKind<Workload>(objects, "Deployment")) {
      const c = d.spec.template.spec.containers[0]!;
      const names = c.env!.map((e) => e.name);
      expect(names).toEqual(
        expect.arrayContaining(["REDIS_URL", "OTEL_EXPORTER_OTLP_ENDPOINT", "GATEHOUSE_JWKS_URL"]),
      );
      expect((c as { image?: string }).image).toMatch(/@sha256:[0-9a-f]{64}$/);
    }
  });
});

describe("the Ingress", () => {
  type Ingress = KubernetesObject & {
    metadata: { annotations?: Record<string, string> };
    spec: {
      ingressClassName?: string;
      tls?: Array<{ hosts: string[]; secretName: string }>;
      rules: Array<{
        host: string;
        http: {
          paths: Array<{
            path: string;
            pathType: string;
            backend: { service: { name: string; port: { number: number } } };
          }>;
        };
      }>;
    };
  };

  it("is rendered only when asked for", () => {
    expect(renderObjects(loadValues()).filter((o) => o.kind === "Ingress")).toEqual([]);
  });

  it("routes exactly each server's MCP and metadata paths, and ticket-send's approvals, unchanged, to its Service", () => {
    const values = loadValues([PRODUCTION]);
    const [ing, ...more] = ofKind<Ingress>(renderObjects(values), "Ingress");
    expect(more).toEqual([]);
    expect(ing!.spec.tls).toEqual([{ hosts: ["mcp.example.com"], secretName: "gatehouse-tls" }]);
    expect(ing!.spec.rules.map((r) => r.host)).toEqual(["mcp.example.com"]);
    const routes = ing!.spec.rules[0]!.http.paths.map((p) => [
      p.pathType,
      p.path,
      p.backend.service.name,
      p.backend.service.port.number,
    ]);
    const expected = facts.flatMap((f) => [
      ["Exact", `/${f.name}/mcp`, `gatehouse-${f.name}`, f.port],
      ["Exact", `/.well-known/oauth-protected-resource/${f.name}/mcp`, `gatehouse-${f.name}`, f.port],
      ...(f.name === "ticket-send" ? [["Prefix", "/approvals", "gatehouse-ticket-send", f.port]] : []),
    ]);
    expect(routes).toEqual(expected);
    // Each MCP route is the path the server answers on: its GATEHOUSE_PUBLIC_URL's, as its Deployment sets it.
    for (const d of ofKind<Workload>(renderObjects(values), "Deployment")) {
      const url = d.spec.template.spec.containers[0]!.env!.find((e) => e.name === "GATEHOUSE_PUBLIC_URL")!
        .value!;
      expect(routes).toContainEqual(["Exact", new URL(url).pathname, d.metadata.name, expect.any(Number)]);
      expect(new URL(url).host).toBe(ing!.spec.rules[0]!.host);
    }
  });
});

describe("the validator and the values check", () => {
  const base = loadValues();
  const withValues = (over: unknown) => () =>
    renderObjects(parseValues(mergeValues(structuredClone(base), over)));

  it("rejects objects that break their kind's schema, and kinds it does not know", () => {
    const good = renderObjects(base).find((o) => o.kind === "Deployment")! as Workload;
    const bad = structuredClone(good) as unknown as {
      spec: { template: { spec: { containers: Array<Record<string, unknown>> } } };
    };
    bad.spec.template.spec.containers[0]!.ports = [{ containerPort: "7101" }];
    expect(schemaProblems(bad).join("\n")).toMatch(/containerPort must be integer/);
    const noContainers = structuredClone(good) as unknown as {
      spec: { template: { spec: Record<string, unknown> } };
    };
    delete noContainers.spec.template.spec.containers;
    expect(schemaProblems(noContainers).join("\n")).toMatch(
      /spec\/template\/spec must have required property containers/,
    );
    expect(
      schemaProblems({ apiVersion: "v1", kind: "Secret", metadata: { name: "x" }, stringData: { k: "v" } }),
    ).toEqual(["Secret/x: v1 Secret is not a kind these manifests may contain"]);
    expect(
      schemaProblems({
        apiVersion: "apps/v1",
        kind: "Deployment",
        metadata: { name: "Not_A_Name" },
        spec: good.spec,
      }),
    ).toEqual(["Deployment/Not_A_Name: metadata.name must be a DNS-1123 label"]);
  });

  it("refuses an inline credential, naming where it is", () => {
    expect(
      withValues({ store: { databaseUrl: { value: "postgres://gatehouse:hunter2@db/gatehouse" } } }),
    ).toThrow(/store\.databaseUrl: Unrecognized key: "value"/);
    expect(withValues({ defaults: { extraEnv: { JIRA_API_TOKEN: "abc" } } })).toThrow(
      /defaults\.extraEnv\.JIRA_API_TOKEN: JIRA_API_TOKEN carries a credential/,
    );
    expect(
      withValues({ servers: { "crm-read": { extraEnv: { SOME_URL: "https://u:p@example.com" } } } }),
    ).toThrow(/servers\.crm-read\.extraEnv\.SOME_URL: holds a URL with a password/);
  });

  it("refuses a peer with no destination, which a NetworkPolicy would read as anywhere", () => {
    expect(withValues({ systems: { jira: { egress: { cidrs: [], ports: [443] } } } })).toThrow(
      /systems\.jira\.egress: names no destination/,
    );
    expect(withValues({ frontDoor: { namespaceSelector: null, podSelector: null } })).toThrow(
      /frontDoor: names no source/,
    );
    expect(withValues({ issuer: { egress: { cidrs: ["10.0.0.0/33"] } } })).toThrow(
      /issuer\.egress\.cidrs\.0: must be a CIDR/,
    );
  });

  it("refuses to enable the console before it can be deployed, and misspelt keys", () => {
    expect(withValues({ servers: { console: { enabled: true } } })).toThrow(
      /servers\.console\.enabled: the console cannot be deployed yet/,
    );
    expect(withValues({ sytems: {} })).toThrow(/Unrecognized key: "sytems"/);
  });

  it("leaves a disabled server out entirely", () => {
    const objects = withValues({ servers: { "crm-read": { enabled: false } } })();
    expect(objects.filter((o) => component(o as Workload) === "crm-read")).toEqual([]);
  });
});

describe("node deploy/render.ts", () => {
  const render = (...args: string[]) =>
    spawnSync(process.execPath, [join(import.meta.dirname, "..", "..", "deploy", "render.ts"), ...args], {
      encoding: "utf8",
      timeout: 60_000,
    });

  it("prints the production manifests as YAML that parses back to the rendered objects", () => {
    const run = render("-f", PRODUCTION);
    expect(run.stderr).toBe("");
    expect(run.status).toBe(0);
    const docs = fromYaml(run.stdout);
    expect(docs).toEqual(JSON.parse(JSON.stringify(renderObjects(loadValues([PRODUCTION])))));
  }, 90_000);

  it("exits 2 naming the bad value, and prints no manifests", () => {
    const dir = mkdtempSync(join(tmpdir(), "gatehouse-values-"));
    try {
      const file = join(dir, "bad.yaml");
      writeFileSync(file, "systems:\n  jira:\n    baseUrl: not a url\n");
      const run = render("-f", file);
      expect(run.status).toBe(2);
      expect(run.stdout).toBe("");
      expect(run.stderr).toMatch(/^render: invalid values:\n {2}systems\.jira\.baseUrl: /);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 90_000);
});
