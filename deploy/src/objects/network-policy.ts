import type { INetworkPolicy } from "kubernetes-models/networking.k8s.io/v1/NetworkPolicy";
import type { INetworkPolicyEgressRule } from "kubernetes-models/networking.k8s.io/v1/NetworkPolicyEgressRule";
import type { INetworkPolicyPeer } from "kubernetes-models/networking.k8s.io/v1/NetworkPolicyPeer";
import { metadata, objectName, PART_OF, selectorLabels } from "../names.ts";
import type { ServerFacts } from "../servers.ts";
import type { Peer, Values } from "../values.ts";

type Targets = Pick<Peer, "cidrs" | "namespaceSelector" | "podSelector">;

/** The Kubernetes peers for IP blocks and/or labelled pods; never empty (that would mean "anyone"). */
export function peers(where: string, t: Targets): INetworkPolicyPeer[] {
  const out: INetworkPolicyPeer[] = t.cidrs.map((cidr) => ({ ipBlock: { cidr } }));
  if (t.namespaceSelector || t.podSelector)
    out.push({
      ...(t.namespaceSelector ? { namespaceSelector: { matchLabels: t.namespaceSelector } } : {}),
      ...(t.podSelector ? { podSelector: { matchLabels: t.podSelector } } : {}),
    });
  if (out.length === 0)
    throw new Error(`${where}: names no destination, which a NetworkPolicy would read as anywhere`);
  return out;
}

const egressTo = (where: string, p: Peer): INetworkPolicyEgressRule => ({
  to: peers(where, p),
  ports: p.ports.map((port) => ({ protocol: "TCP", port })),
});

/** DNS answers over UDP and, for large answers, TCP. */
const dnsRule = (v: Values): INetworkPolicyEgressRule => ({
  to: peers("dns", v.dns),
  ports: v.dns.ports.flatMap((port) => [
    { protocol: "UDP", port },
    { protocol: "TCP", port },
  ]),
});

/** What a server may reach, by name: DNS, the store, the issuer, Redis and the collector when on, its systems. */
export function serverEgress(
  v: Values,
  facts: ServerFacts,
): Array<{ name: string; rule: INetworkPolicyEgressRule }> {
  const rules = [
    { name: "dns", rule: dnsRule(v) },
    { name: "store", rule: egressTo("store.egress", v.store.egress) },
    { name: "issuer", rule: egressTo("issuer.egress", v.issuer.egress) },
  ];
  if (v.redis.enabled && v.redis.egress)
    rules.push({ name: "redis", rule: egressTo("redis.egress", v.redis.egress) });
  if (v.otel.enabled && v.otel.egress)
    rules.push({ name: "otel", rule: egressTo("otel.egress", v.otel.egress) });
  for (const system of facts.systems) {
    const p = system === "exchange" ? v.systems.exchange.frontDoorEgress : v.systems[system].egress;
    rules.push({ name: system, rule: egressTo(`systems.${system}.egress`, p) });
  }
  return rules;
}

/**
 * One server's traffic: in from the front door on its port only; out to exactly the places serverEgress
 * names. Everything else is denied (a pod selected by a policy of both types gets only what it allows).
 */
export function serverNetworkPolicy(v: Values, facts: ServerFacts): INetworkPolicy {
  return {
    apiVersion: "networking.k8s.io/v1",
    kind: "NetworkPolicy",
    metadata: metadata(v, facts.name),
    spec: {
      podSelector: { matchLabels: selectorLabels(v, facts.name) },
      policyTypes: ["Ingress", "Egress"],
      ingress: [{ from: peers("frontDoor", v.frontDoor), ports: [{ protocol: "TCP", port: facts.port }] }],
      egress: serverEgress(v, facts).map((r) => r.rule),
    },
  };
}

/** The migration Job: no way in, and out only to DNS and the store. */
export function migrateNetworkPolicy(v: Values): INetworkPolicy {
  return {
    apiVersion: "networking.k8s.io/v1",
    kind: "NetworkPolicy",
    metadata: metadata(v, "migrate"),
    spec: {
      podSelector: { matchLabels: selectorLabels(v, "migrate") },
      policyTypes: ["Ingress", "Egress"],
      ingress: [],
      egress: [dnsRule(v), egressTo("store.egress", v.store.egress)],
    },
  };
}

/**
 * Every pod of this release that no other policy names (a component added later, say) gets nothing in or out
 * until a policy says otherwise.
 */
export function defaultDenyNetworkPolicy(v: Values): INetworkPolicy {
  return {
    apiVersion: "networking.k8s.io/v1",
    kind: "NetworkPolicy",
    metadata: metadata(v, "default-deny", objectName(v, "default-deny")),
    spec: {
      podSelector: {
        matchLabels: { "app.kubernetes.io/name": PART_OF, "app.kubernetes.io/instance": v.release },
      },
      policyTypes: ["Ingress", "Egress"],
    },
  };
}
