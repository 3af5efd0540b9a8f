/** The kit's telemetry, for server packages that make calls of their own (business's downstream calls). */
export { type ClientSpan, startDownstreamSpan } from "./client-span.ts";
