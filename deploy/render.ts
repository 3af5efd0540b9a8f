import { parseArgs } from "node:util";
import { loadValues } from "./src/load-values.ts";
import { renderObjects, toYaml } from "./src/render.ts";

// `node deploy/render.ts [-f values-file]… > gatehouse.yaml`: deploy/values.yaml with each file on top, rendered
// and checked against the Kubernetes schemas; the YAML goes to stdout, a problem to stderr with exit code 2.
try {
  const { values: opts } = parseArgs({ options: { values: { type: "string", short: "f", multiple: true } } });
  process.stdout.write(toYaml(renderObjects(loadValues(opts.values ?? []))));
} catch (err) {
  process.stderr.write(`render: ${(err as Error).message}\n`);
  process.exitCode = 2;
}
