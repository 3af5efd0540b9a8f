import { format } from "node:util";
import { DiagLogLevel, diag } from "@opentelemetry/api";
import { presetIdGenerator } from "./ids.ts";
import { resetInstruments } from "./metrics.ts";

/** A started telemetry pipeline; `shutdown` flushes what is buffered (spans, a last metrics export). */
export interface Telemetry {
  shutdown(): Promise<void>;
}

const NOTHING: Telemetry = { shutdown: async () => undefined };

const set = (env: NodeJS.ProcessEnv, name: string) => (env[name] ?? "").trim() !== "";

/** Traces are exported when asked for by exporter or by an OTLP endpoint (the SDK's own default is otlp). */
function tracesRequested(env: NodeJS.ProcessEnv): boolean {
  return (
    set(env, "OTEL_TRACES_EXPORTER") ||
    set(env, "OTEL_EXPORTER_OTLP_ENDPOINT") ||
    set(env, "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
  );
}

function metricsRequested(env: NodeJS.ProcessEnv): boolean {
  return (
    set(env, "OTEL_METRICS_EXPORTER") ||
    set(env, "OTEL_EXPORTER_OTLP_ENDPOINT") ||
    set(env, "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT")
  );
}

/** Whether the standard OTEL_* variables ask for any export (and OTEL_SDK_DISABLED does not forbid it). */
export function telemetryRequested(env: NodeJS.ProcessEnv): boolean {
  if ((env.OTEL_SDK_DISABLED ?? "").trim().toLowerCase() === "true") return false;
  return tracesRequested(env) || metricsRequested(env);
}

/**
 * Starts the OpenTelemetry SDK when the standard variables ask for export; otherwise loads nothing of it,
 * and the kit's spans and instruments stay the API's no-ops. The SDK reads its own settings (exporters,
 * protocol, endpoints, headers, sampler, Prometheus host/port) from process.env as the specification
 * says; Gatehouse only adds its service name, its call-span ids, and no auto-instrumentation (the kit
 * makes its own spans, which carry no arguments). A signal nobody asked for is not exported: setting
 * only OTEL_METRICS_EXPORTER=prometheus does not start sending traces to localhost:4318.
 */
export async function startTelemetry(serviceName: string, env: NodeJS.ProcessEnv): Promise<Telemetry> {
  if (!telemetryRequested(env)) return NOTHING;
  // Resource detectors: the host/os/process ones report command lines and the OS user; only
  // OTEL_RESOURCE_ATTRIBUTES and a per-process instance id go out unless the operator chooses more.
  process.env.OTEL_NODE_RESOURCE_DETECTORS ??= "env,serviceinstance";
  const { NodeSDK } = await import("@opentelemetry/sdk-node");
  const sdk = new NodeSDK({
    // OTEL_SERVICE_NAME, when an operator sets it, names the service instead.
    serviceName: set(env, "OTEL_SERVICE_NAME") ? undefined : serviceName,
    idGenerator: presetIdGenerator,
    instrumentations: [],
    ...(tracesRequested(env) ? {} : { spanProcessors: [] }),
    ...(metricsRequested(env) ? {} : { metricReaders: [] }),
    // Gatehouse logs with pino to stderr; nothing goes out as OpenTelemetry logs.
    logRecordProcessors: [],
  });
  // The SDK's own diagnostics (OTEL_LOG_LEVEL) go to stderr: stdout is the stdio transport's wire.
  const level = (env.OTEL_LOG_LEVEL ?? "").trim().toUpperCase();
  if (level) {
    const write = (msg: string, ...args: unknown[]) => {
      process.stderr.write(`opentelemetry: ${format(msg, ...args)}\n`);
    };
    diag.setLogger(
      { error: write, warn: write, info: write, debug: write, verbose: write },
      {
        logLevel: DiagLogLevel[level as keyof typeof DiagLogLevel] ?? DiagLogLevel.INFO,
        suppressOverrideMessage: true,
      },
    );
  }
  sdk.start();
  resetInstruments();
  let stopped: Promise<void> | undefined;
  return {
    shutdown: () => {
      stopped ??= sdk.shutdown().catch(() => undefined);
      return stopped;
    },
  };
}
