export { ticketDraft } from "./server.ts";
