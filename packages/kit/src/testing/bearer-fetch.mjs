// Preload for the MCP conformance CLI, which has no option for headers: it adds the bearer token from
// GATEHOUSE_CONFORMANCE_TOKEN to every request it sends, so the suite can test a server behind the gate.
const token = process.env.GATEHOUSE_CONFORMANCE_TOKEN;
if (token) {
  const original = globalThis.fetch;
  globalThis.fetch = (input, init = {}) => {
    const headers = new Headers(init.headers ?? (input instanceof Request ? input.headers : undefined));
    headers.set("authorization", `Bearer ${token}`);
    return original(input, { ...init, headers });
  };
}
