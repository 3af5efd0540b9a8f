import type { IService } from "kubernetes-models/v1/Service";
import type { IServiceAccount } from "kubernetes-models/v1/ServiceAccount";
import { metadata, selectorLabels } from "../names.ts";
import type { ServerFacts } from "../servers.ts";
import type { Values } from "../values.ts";

/** The stable in-cluster address the front door forwards a server's routes to. */
export function service(v: Values, facts: ServerFacts): IService {
  return {
    apiVersion: "v1",
    kind: "Service",
    metadata: metadata(v, facts.name),
    spec: {
      type: "ClusterIP",
      selector: selectorLabels(v, facts.name),
      ports: [{ name: "http", port: facts.port, targetPort: "http", protocol: "TCP" }],
    },
  };
}

/** Its own identity in the cluster, with no token mounted: the servers never call the Kubernetes API. */
export function serviceAccount(v: Values, component: string): IServiceAccount {
  return {
    apiVersion: "v1",
    kind: "ServiceAccount",
    metadata: metadata(v, component),
    automountServiceAccountToken: false,
  };
}
