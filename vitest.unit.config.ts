import { defineConfig } from "vitest/config";

// The quick tier (`npm run test:unit`): tests that need no server, no PGlite and no process of
// the service — the domain, command planning, the NATS wire format, configuration, pure
// projection logic. Named *.unit.test.ts; `npm test` runs them too, with everything else.
export default defineConfig({
  test: {
    include: ["test/**/*.unit.test.ts"],
    // A unit test that reaches for the shared servers through test/support fails at once here,
    // instead of passing on a machine that happens to run them.
    env: {
      TEST_DATABASE_URL: "postgres://postgres@127.0.0.1:1/none",
      TEST_NATS_URL: "nats://127.0.0.1:1",
    },
    testTimeout: 10_000,
  },
});
