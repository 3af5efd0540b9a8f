import { Deployment } from "kubernetes-models/apps/v1/Deployment";
import { HorizontalPodAutoscaler } from "kubernetes-models/autoscaling/v2/HorizontalPodAutoscaler";
import { Job } from "kubernetes-models/batch/v1/Job";
import { Ingress } from "kubernetes-models/networking.k8s.io/v1/Ingress";
import { NetworkPolicy } from "kubernetes-models/networking.k8s.io/v1/NetworkPolicy";
import { PodDisruptionBudget } from "kubernetes-models/policy/v1/PodDisruptionBudget";
import { ConfigMap } from "kubernetes-models/v1/ConfigMap";
import { Service } from "kubernetes-models/v1/Service";
import { ServiceAccount } from "kubernetes-models/v1/ServiceAccount";

/**
 * The kinds the manifests may contain, each with its model from `kubernetes-models`: the official Kubernetes
 * OpenAPI schemas compiled to ajv validators. A kind not listed here is refused, so nothing unchecked
 * (a Secret above all: values are referenced, never rendered) slips into the output.
 */
const MODELS: Record<string, new (data: never) => { validate(): void }> = {
  "apps/v1/Deployment": Deployment,
  "autoscaling/v2/HorizontalPodAutoscaler": HorizontalPodAutoscaler,
  "batch/v1/Job": Job,
  "networking.k8s.io/v1/Ingress": Ingress,
  "networking.k8s.io/v1/NetworkPolicy": NetworkPolicy,
  "policy/v1/PodDisruptionBudget": PodDisruptionBudget,
  "v1/ConfigMap": ConfigMap,
  "v1/Service": Service,
  "v1/ServiceAccount": ServiceAccount,
};

export const VALIDATED_KINDS = Object.keys(MODELS);

/** What is wrong with one object, or nothing: `Kind/name: <path> <rule>` per problem. */
export function schemaProblems(object: unknown): string[] {
  if (typeof object !== "object" || object === null || Array.isArray(object))
    return ["not a Kubernetes object (expected a mapping with apiVersion and kind)"];
  const { apiVersion, kind, metadata } = object as {
    apiVersion?: unknown;
    kind?: unknown;
    metadata?: unknown;
  };
  const name = (metadata as { name?: unknown } | undefined)?.name;
  const label = `${String(kind)}/${typeof name === "string" ? name : "<no name>"}`;
  const Model = MODELS[`${String(apiVersion)}/${String(kind)}`];
  if (!Model)
    return [`${label}: ${String(apiVersion)} ${String(kind)} is not a kind these manifests may contain`];
  const problems: string[] = [];
  if (typeof name !== "string" || !/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/.test(name))
    problems.push(`${label}: metadata.name must be a DNS-1123 label`);
  const { apiVersion: _a, kind: _k, ...data } = object as Record<string, unknown>;
  try {
    new Model(data as never).validate();
  } catch (err) {
    problems.push(`${label}: ${(err as Error).message}`);
  }
  return problems;
}

/** Throws one error listing every problem in every object. */
export function assertValidObjects(objects: unknown[]): void {
  const problems = objects.flatMap(schemaProblems);
  if (problems.length) throw new Error(`invalid Kubernetes objects:\n  ${problems.join("\n  ")}`);
}
