import { describeGovernedServer } from "@gatehouse/kit/testing";
import { ticketSend } from "../src/server.ts";

describeGovernedServer(ticketSend, { entry: new URL("../src/main.ts", import.meta.url).pathname });
