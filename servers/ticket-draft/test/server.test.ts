import { describeGovernedServer } from "@gatehouse/testing";
import { ticketDraft } from "../src/server.ts";

describeGovernedServer(ticketDraft, { entry: new URL("../src/main.ts", import.meta.url).pathname });
