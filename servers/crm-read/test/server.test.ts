import { describeGovernedServer } from "@gatehouse/testing";
import { crmRead } from "../src/server.ts";

describeGovernedServer(crmRead, { entry: new URL("../src/main.ts", import.meta.url).pathname });
