export { SERVERS, type ServerEntry } from "./servers.ts";
