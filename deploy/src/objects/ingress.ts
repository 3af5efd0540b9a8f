import type { IHTTPIngressPath } from "kubernetes-models/networking.k8s.io/v1/HTTPIngressPath";
import type { IIngress } from "kubernetes-models/networking.k8s.io/v1/Ingress";
import { metadata, objectName } from "../names.ts";
import type { ServerFacts } from "../servers.ts";
import type { Values } from "../values.ts";

/**
 * The public routes and nothing else, paths forwarded unchanged (each server answers MCP only at its resource
 * path): per server its MCP endpoint and RFC 9728 metadata, and ticket-send's approval endpoint. Health
 * routes and anything else stay inside the cluster.
 */
export function ingress(v: Values, facts: ServerFacts[]): IIngress {
  const host = new URL(v.publicBaseUrl).hostname;
  const to = (f: ServerFacts, path: string, pathType: "Exact" | "Prefix"): IHTTPIngressPath => ({
    path,
    pathType,
    backend: { service: { name: objectName(v, f.name), port: { number: f.port } } },
  });
  const paths = facts.flatMap((f) => [
    to(f, `/${f.name}/mcp`, "Exact"),
    to(f, `/.well-known/oauth-protected-resource/${f.name}/mcp`, "Exact"),
    ...(f.name === "ticket-send" ? [to(f, "/approvals", "Prefix")] : []),
  ]);
  return {
    apiVersion: "networking.k8s.io/v1",
    kind: "Ingress",
    metadata: {
      ...metadata(v, "ingress"),
      ...(v.ingress.annotations ? { annotations: v.ingress.annotations } : {}),
    },
    spec: {
      ...(v.ingress.className ? { ingressClassName: v.ingress.className } : {}),
      ...(v.ingress.tlsSecretName ? { tls: [{ hosts: [host], secretName: v.ingress.tlsSecretName }] } : {}),
      rules: [{ host, http: { paths } }],
    },
  };
}
