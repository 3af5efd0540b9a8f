export { crmRead } from "./server.ts";
