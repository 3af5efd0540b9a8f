import type { Values } from "./values.ts";

export const PART_OF = "gatehouse";

/** Object name of one component (a server, or "migrate"): <release>-<component>. */
export const objectName = (v: Values, component: string) => `${v.release}-${component}`;

/** The labels that pick a component's pods: stable across versions, so selectors never change. */
export function selectorLabels(v: Values, component: string): Record<string, string> {
  return {
    "app.kubernetes.io/name": PART_OF,
    "app.kubernetes.io/instance": v.release,
    "app.kubernetes.io/component": component,
  };
}

export function labels(v: Values, component: string): Record<string, string> {
  return {
    ...selectorLabels(v, component),
    "app.kubernetes.io/part-of": PART_OF,
    "app.kubernetes.io/version": v.image.tag,
    "app.kubernetes.io/managed-by": "gatehouse-deploy",
  };
}

export function metadata(v: Values, component: string, name = objectName(v, component)) {
  return { name, namespace: v.namespace, labels: labels(v, component) };
}

export function imageRef(v: Values): string {
  return v.image.digest ? `${v.image.repository}@${v.image.digest}` : `${v.image.repository}:${v.image.tag}`;
}
