import type { IHorizontalPodAutoscaler } from "kubernetes-models/autoscaling/v2/HorizontalPodAutoscaler";
import type { IPodDisruptionBudget } from "kubernetes-models/policy/v1/PodDisruptionBudget";
import { metadata, objectName, selectorLabels } from "../names.ts";
import type { ServerFacts } from "../servers.ts";
import type { ResolvedSettings } from "../settings.ts";
import type { Values } from "../values.ts";

/** Voluntary evictions (node drains, upgrades) take at most this many of a server's pods at a time. */
export function podDisruptionBudget(
  v: Values,
  facts: ServerFacts,
  settings: ResolvedSettings,
): IPodDisruptionBudget {
  return {
    apiVersion: "policy/v1",
    kind: "PodDisruptionBudget",
    metadata: metadata(v, facts.name),
    spec: {
      maxUnavailable: settings.podDisruptionBudget.maxUnavailable,
      selector: { matchLabels: selectorLabels(v, facts.name) },
      // A pod that never became ready may be evicted: it serves nothing, and blocking drains on it helps nobody.
      unhealthyPodEvictionPolicy: "AlwaysAllow",
    },
  };
}

/**
 * Replicas follow CPU: the servers are stateless, and shared state (audit chain, approvals, limits with Redis)
 * lives in the store. Scale-down is slowed so a burst's replicas are not dropped between two bursts.
 */
export function horizontalPodAutoscaler(
  v: Values,
  facts: ServerFacts,
  settings: ResolvedSettings,
): IHorizontalPodAutoscaler {
  const a = settings.autoscaling;
  return {
    apiVersion: "autoscaling/v2",
    kind: "HorizontalPodAutoscaler",
    metadata: metadata(v, facts.name),
    spec: {
      scaleTargetRef: { apiVersion: "apps/v1", kind: "Deployment", name: objectName(v, facts.name) },
      minReplicas: a.minReplicas,
      maxReplicas: a.maxReplicas,
      metrics: [
        {
          type: "Resource",
          resource: {
            name: "cpu",
            target: { type: "Utilization", averageUtilization: a.targetCPUUtilizationPercentage },
          },
        },
      ],
      behavior: { scaleDown: { stabilizationWindowSeconds: 300 } },
    },
  };
}
