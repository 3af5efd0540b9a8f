export { containerfileProblems, parseContainerfile, runtimeWorkspaceDirs } from "./containerfile-lint.ts";
export { DEFAULT_VALUES_FILE, loadValues, mergeValues, parseValues } from "./load-values.ts";
export { serverEgress } from "./objects/network-policy.ts";
export { fromYaml, type KubernetesObject, renderObjects, toYaml } from "./render.ts";
export { type ServerFacts, serverFacts } from "./servers.ts";
export { assertValidObjects, schemaProblems, VALIDATED_KINDS } from "./validate.ts";
export { SECRET_VARIABLES, type Values, values } from "./values.ts";
