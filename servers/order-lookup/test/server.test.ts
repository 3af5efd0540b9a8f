import { describeGovernedServer } from "@gatehouse/testing";
import { orderLookup } from "../src/server.ts";

describeGovernedServer(orderLookup, { entry: new URL("../src/main.ts", import.meta.url).pathname });
