import { enableCompileCache } from "node:module";

// Node keeps this process's compiled modules (type-stripped TypeScript included) on disk, so later starts
// skip stripping and compiling them: most of a cold start, and the stripper's memory. It has to be on
// before the server's modules load, hence the dynamic imports.
enableCompileCache();
const { serveFromCommandLine } = await import("@gatehouse/kit");
const { orderLookup } = await import("./server.ts");

// `node src/main.ts [http|stdio]`: how the CLI and the tests start this server.
serveFromCommandLine(orderLookup);
