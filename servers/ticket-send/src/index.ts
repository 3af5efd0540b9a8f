export { ticketSend } from "./server.ts";
