import { parseAllDocuments, stringify } from "yaml";
import { horizontalPodAutoscaler, podDisruptionBudget } from "./objects/availability.ts";
import { deployment } from "./objects/deployment.ts";
import { ingress } from "./objects/ingress.ts";
import { migrateJob } from "./objects/migrate-job.ts";
import {
  defaultDenyNetworkPolicy,
  migrateNetworkPolicy,
  serverNetworkPolicy,
} from "./objects/network-policy.ts";
import { service, serviceAccount } from "./objects/service.ts";
import { type ServerFacts, serverFacts } from "./servers.ts";
import { resolveSettings } from "./settings.ts";
import { assertValidObjects } from "./validate.ts";
import type { Values } from "./values.ts";

export type KubernetesObject = { apiVersion: string; kind: string; metadata?: { name?: string } };

/**
 * Every object of one deployment, in apply order: the default-deny policy first (no pod ever runs unfenced),
 * the migration Job, then per server its account, policy, Service, Deployment, budget and autoscaler, and the
 * Ingress when asked for. Each object is checked against its kind's Kubernetes schema before it is returned.
 */
export function renderObjects(v: Values, facts: ServerFacts[] = serverFacts()): KubernetesObject[] {
  const objects: KubernetesObject[] = [defaultDenyNetworkPolicy(v)];
  if (v.migrations.enabled)
    objects.push(serviceAccount(v, "migrate"), migrateNetworkPolicy(v), migrateJob(v));
  for (const f of facts) {
    const settings = resolveSettings(v, f.name);
    if (!settings.enabled) continue;
    objects.push(
      serviceAccount(v, f.name),
      serverNetworkPolicy(v, f),
      service(v, f),
      deployment(v, f, settings),
    );
    if (settings.podDisruptionBudget.enabled) objects.push(podDisruptionBudget(v, f, settings));
    if (settings.autoscaling.enabled) objects.push(horizontalPodAutoscaler(v, f, settings));
  }
  const served = facts.filter((f) => resolveSettings(v, f.name).enabled);
  if (v.ingress.enabled && served.length) objects.push(ingress(v, served));
  assertValidObjects(objects);
  return objects;
}

/**
 * The objects as one multi-document YAML stream (`kubectl apply -f -`). Written as YAML 1.1, which kubectl's
 * parser follows: strings such as "off", "yes" or "0755" are quoted instead of turning into booleans or numbers.
 */
export function toYaml(objects: KubernetesObject[]): string {
  const header = "# Rendered by deploy/render.ts from values files; edit the values, not this output.\n";
  return header + objects.map((o) => `---\n${stringify(o, { lineWidth: 0, version: "1.1" })}`).join("");
}

/** A rendered stream read back into objects as kubectl would: YAML 1.1, where an unquoted off is false. */
export function fromYaml(text: string): unknown[] {
  return parseAllDocuments(text, { version: "1.1" }).map((doc) => {
    if (doc.errors.length) throw new Error(`not valid YAML: ${doc.errors[0]!.message}`);
    return doc.toJS();
  });
}
