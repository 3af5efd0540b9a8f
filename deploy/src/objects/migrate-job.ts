import { createHash } from "node:crypto";
import type { IJob } from "kubernetes-models/batch/v1/Job";
import { imageRef, metadata, objectName } from "../names.ts";
import { containerSecurityContext, podSecurityContext, tmpMount, tmpVolume } from "../pod-security.ts";
import type { Values } from "../values.ts";

/**
 * Brings the PostgreSQL store up to date once per image (packages/store/src/migrate-main.ts). A Job's pod
 * template cannot change, so its name carries a hash of the image: a new version is a new Job, re-applying
 * the same version changes nothing. Servers also migrate at start-up, serialised on an advisory lock, so the
 * order in which the Job and the Deployments start does not matter; the Job makes a failure visible in one
 * place.
 */
export function migrateJob(v: Values): IJob {
  const version = createHash("sha256").update(imageRef(v)).digest("hex").slice(0, 10);
  return {
    apiVersion: "batch/v1",
    kind: "Job",
    metadata: metadata(v, "migrate", `${objectName(v, "migrate")}-${version}`),
    spec: {
      backoffLimit: v.migrations.backoffLimit,
      activeDeadlineSeconds: v.migrations.activeDeadlineSeconds,
      ttlSecondsAfterFinished: v.migrations.ttlSecondsAfterFinished,
      template: {
        metadata: { labels: metadata(v, "migrate").labels },
        spec: {
          restartPolicy: "Never",
          serviceAccountName: objectName(v, "migrate"),
          automountServiceAccountToken: false,
          securityContext: podSecurityContext,
          containers: [
            {
              name: "migrate",
              image: imageRef(v),
              imagePullPolicy: v.image.pullPolicy,
              args: ["packages/store/src/migrate-main.ts"],
              env: [
                {
                  name: "DATABASE_URL",
                  valueFrom: {
                    secretKeyRef: { name: v.store.databaseUrl.secretName, key: v.store.databaseUrl.key },
                  },
                },
              ],
              resources: { requests: { cpu: "50m", memory: "128Mi" }, limits: { memory: "256Mi" } },
              securityContext: containerSecurityContext,
              volumeMounts: [tmpMount],
            },
          ],
          volumes: [tmpVolume],
        },
      },
    },
  };
}
