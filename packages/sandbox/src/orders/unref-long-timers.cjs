// Preloaded (`node -r`) into the Prisma CLI: its WASM schema engine leaves a long timer pending after
// `migrate deploy` on PostgreSQL, which keeps the finished process alive for ten more seconds. Long timers
// are unref'd, so they never keep the process alive on their own; short ones (the CLI's own waits) are left.
const setTimeoutOriginal = globalThis.setTimeout;
globalThis.setTimeout = function setTimeoutUnrefLong(fn, ms, ...args) {
  const timer = setTimeoutOriginal(fn, ms, ...args);
  if (typeof ms === "number" && ms >= 5000) timer?.unref?.();
  return timer;
};
