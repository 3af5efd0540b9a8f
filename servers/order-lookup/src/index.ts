export { orderLookup } from "./server.ts";
