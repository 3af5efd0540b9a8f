export {
  defaultResourceUrl,
  discoverServers,
  findServer,
  REPO_ROOT,
  SERVERS_DIR,
  type ServerEntry,
  SYSTEMS,
  type SystemName,
  servers,
} from "./servers.ts";
