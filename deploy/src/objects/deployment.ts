import type { IDeployment } from "kubernetes-models/apps/v1/Deployment";
import { serverEnv } from "../env.ts";
import { imageRef, metadata, objectName, selectorLabels } from "../names.ts";
import { containerSecurityContext, podSecurityContext, tmpMount, tmpVolume } from "../pod-security.ts";
import type { ServerFacts } from "../servers.ts";
import type { ResolvedSettings } from "../settings.ts";
import type { Values } from "../values.ts";

/**
 * One server: the shared image running that server's entry point. Probes use the kit's health routes, which
 * answer without a token or Host check (packages/kit/src/http/health.ts): /healthz says the process serves,
 * /readyz that the store, issuer keys and (with REDIS_URL) Redis answer — a replica that is not ready gets
 * no traffic, and one that stops being alive is restarted.
 */
export function deployment(v: Values, facts: ServerFacts, settings: ResolvedSettings): IDeployment {
  const component = facts.name;
  return {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: metadata(v, component),
    spec: {
      // With an autoscaler the replica count is its to set; a fixed one here would fight it on every apply.
      ...(settings.autoscaling.enabled ? {} : { replicas: settings.replicas }),
      revisionHistoryLimit: 5,
      selector: { matchLabels: selectorLabels(v, component) },
      strategy: { type: "RollingUpdate", rollingUpdate: { maxUnavailable: 0, maxSurge: 1 } },
      template: {
        metadata: { labels: metadata(v, component).labels },
        spec: {
          serviceAccountName: objectName(v, component),
          automountServiceAccountToken: false,
          securityContext: podSecurityContext,
          // Longer than the request deadline (GATEHOUSE_REQUEST_TIMEOUT_MS, 30 s): calls in flight finish.
          terminationGracePeriodSeconds: 40,
          topologySpreadConstraints: [
            {
              maxSkew: 1,
              topologyKey: "kubernetes.io/hostname",
              whenUnsatisfiable: "ScheduleAnyway",
              labelSelector: { matchLabels: selectorLabels(v, component) },
            },
          ],
          containers: [
            {
              name: component,
              image: imageRef(v),
              imagePullPolicy: v.image.pullPolicy,
              args: [facts.entryPoint, "http"],
              ports: [{ name: "http", containerPort: facts.port, protocol: "TCP" }],
              env: serverEnv(v, facts, settings),
              resources: settings.resources,
              securityContext: containerSecurityContext,
              volumeMounts: [tmpMount],
              // Start-up migrates the store and loads policies: allow up to 2 minutes before liveness counts.
              startupProbe: {
                httpGet: { path: "/healthz", port: "http" },
                periodSeconds: 2,
                failureThreshold: 60,
              },
              readinessProbe: {
                httpGet: { path: "/readyz", port: "http" },
                periodSeconds: 5,
                // Each readiness check is bounded at 2 s inside the server.
                timeoutSeconds: 3,
                failureThreshold: 2,
              },
              livenessProbe: {
                httpGet: { path: "/healthz", port: "http" },
                periodSeconds: 10,
                timeoutSeconds: 3,
                failureThreshold: 3,
              },
            },
          ],
          volumes: [tmpVolume],
        },
      },
    },
  };
}
