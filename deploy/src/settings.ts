import type { ServerName, ServerSettings, Values } from "./values.ts";

export type ResolvedSettings = Required<Omit<ServerSettings, "extraEnv">> & Pick<ServerSettings, "extraEnv">;

/** One server's settings: its own where given, the shared defaults otherwise (objects are taken whole). */
export function resolveSettings(v: Values, server: ServerName): ResolvedSettings {
  const own = v.servers[server];
  return {
    enabled: own.enabled ?? v.defaults.enabled ?? true,
    replicas: own.replicas ?? v.defaults.replicas,
    autoscaling: own.autoscaling ?? v.defaults.autoscaling,
    podDisruptionBudget: own.podDisruptionBudget ?? v.defaults.podDisruptionBudget,
    resources: own.resources ?? v.defaults.resources,
    logLevel: own.logLevel ?? v.defaults.logLevel,
    extraEnv: { ...v.defaults.extraEnv, ...own.extraEnv },
  };
}
