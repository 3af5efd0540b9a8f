import { trace } from "@opentelemetry/api";
import { describe, expect, it } from "vitest";
import { startTelemetry, telemetryRequested } from "../src/telemetry/setup.ts";
import { CallTelemetry } from "../src/telemetry/tracer.ts";
import { newTraceContext } from "../src/trace-context.ts";

describe("telemetry is off unless the standard OTEL_* variables ask for export", () => {
  it.each([
    [{}, false],
    [{ OTEL_SERVICE_NAME: "x", OTEL_RESOURCE_ATTRIBUTES: "a=b" }, false],
    [{ OTEL_TRACES_EXPORTER: " " }, false],
    [{ OTEL_TRACES_EXPORTER: "otlp" }, true],
    [{ OTEL_METRICS_EXPORTER: "prometheus" }, true],
    [{ OTEL_EXPORTER_OTLP_ENDPOINT: "http://collector:4318" }, true],
    [{ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: "http://collector:4318/v1/traces" }, true],
    [{ OTEL_EXPORTER_OTLP_METRICS_ENDPOINT: "http://collector:4318/v1/metrics" }, true],
    [{ OTEL_EXPORTER_OTLP_ENDPOINT: "http://collector:4318", OTEL_SDK_DISABLED: "TRUE" }, false],
  ])("%j asks for export: %s", (env, requested) => {
    expect(telemetryRequested(env)).toBe(requested);
  });

  it("starts nothing without them: no provider is registered and a call's spans do not record", async () => {
    const env: NodeJS.ProcessEnv = {};
    const telemetry = await startTelemetry("order-lookup", env);
    // The SDK path sets its resource-detector default; untouched, it was never taken.
    expect(process.env.OTEL_NODE_RESOURCE_DETECTORS).toBeUndefined();
    const ids = newTraceContext({ traceparent: `00-${"a".repeat(32)}-${"b".repeat(16)}-01` });
    const tel = new CallTelemetry({ server: "s", tool: "t", kind: "read", tenant: "emea", ids });
    let active: string | undefined = "unset";
    const value = tel.stage("policy", () => {
      active = trace.getActiveSpan()?.spanContext().spanId;
      return 42;
    });
    expect(value).toBe(42);
    // A stage runs bare: no span is made active around it.
    expect(active).toBeUndefined();
    tel.end({ status: "completed", stage: "egress", decision: "allow" });
    await telemetry.shutdown();
  });
});
