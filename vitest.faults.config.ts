import { defineConfig } from "vitest/config";

// The fault tests (test/faults): each starts PostgreSQL, NATS and the service's processes of its
// own, then stops, crashes and restarts them under load. `npm run test:faults`; .ci/run runs them too.
export default defineConfig({
  test: {
    // Process-level tests run the built CLI (test/support/built-cli.ts): build it once, first.
    globalSetup: ["test/support/built-cli.ts"],
    include: ["test/faults/**/*.test.ts"],
    testTimeout: 180_000,
    hookTimeout: 120_000,
    // One at a time: each runs half a dozen processes, and their timings are part of what it checks.
    fileParallelism: false,
    reporters: ["default", ["json", { outputFile: "reports/vitest-faults.json" }]],
  },
});
