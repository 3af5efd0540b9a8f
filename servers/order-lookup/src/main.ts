import { serveFromCommandLine } from "@gatehouse/kit";
import { orderLookup } from "./server.ts";

// `node src/main.ts [http|stdio]`: how the CLI and the tests start this server.
serveFromCommandLine(orderLookup);
