export { haproxyBin, type RunningFrontDoor, startFrontDoor } from "./front-door.ts";
export {
  type FrontDoorOptions,
  type FrontDoorRoute,
  frontDoorConfig,
  ISSUER_PATHS,
  ISSUER_PREFIXES,
  normalizePublicBase,
  publicResourceUrl,
  routePaths,
} from "./haproxy-config.ts";
