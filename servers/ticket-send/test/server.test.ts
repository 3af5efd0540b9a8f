import { describeGovernedServer } from "@gatehouse/testing";
import { ticketSend } from "../src/server.ts";

describeGovernedServer(ticketSend, { entry: new URL("../src/main.ts", import.meta.url).pathname });
