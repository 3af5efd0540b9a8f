import { runServer } from "@gatehouse/kit";
import { orderLookup } from "./server.ts";

// `tsx src/main.ts [http|stdio]`: the CLI and the tests start the server this way.
const transport = process.argv[2] === "stdio" ? "stdio" : "http";
runServer(orderLookup, transport).then(
  (running) => {
    const stop = () => void running.close().finally(() => process.exit(0));
    process.once("SIGTERM", stop);
    process.once("SIGINT", stop);
  },
  (err: Error) => {
    process.stderr.write(`order-lookup failed to start: ${err.message}\n`);
    process.exit(1);
  },
);
