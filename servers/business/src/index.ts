export { business } from "./server.ts";
