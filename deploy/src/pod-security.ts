import type { IContainer } from "kubernetes-models/v1/Container";
import type { IPodSecurityContext } from "kubernetes-models/v1/PodSecurityContext";
import type { IVolume } from "kubernetes-models/v1/Volume";
import type { IVolumeMount } from "kubernetes-models/v1/VolumeMount";

/** The image's unprivileged user (deploy/Containerfile creates it with these ids). */
export const RUN_AS = 10001;

/** Every pod: a non-root user, the runtime's default seccomp filter, no service-account token (no API calls). */
export const podSecurityContext: IPodSecurityContext = {
  runAsNonRoot: true,
  runAsUser: RUN_AS,
  runAsGroup: RUN_AS,
  fsGroup: RUN_AS,
  seccompProfile: { type: "RuntimeDefault" },
};

/** Every container: read-only root, no capabilities, no way to gain privileges. */
export const containerSecurityContext: NonNullable<IContainer["securityContext"]> = {
  runAsNonRoot: true,
  runAsUser: RUN_AS,
  runAsGroup: RUN_AS,
  allowPrivilegeEscalation: false,
  privileged: false,
  readOnlyRootFilesystem: true,
  capabilities: { drop: ["ALL"] },
  seccompProfile: { type: "RuntimeDefault" },
};

/**
 * The one writable place: /tmp, for Node's compile cache (the type-stripped sources, kept between starts of
 * the same pod) and GATEHOUSE_DATA_DIR; capped, so a runaway write cannot fill the node.
 */
export const tmpVolume: IVolume = { name: "tmp", emptyDir: { sizeLimit: "256Mi" } };
export const tmpMount: IVolumeMount = { name: "tmp", mountPath: "/tmp" };
