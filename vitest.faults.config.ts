import { defineConfig } from "vitest/config";

// The fault tests (test/faults): each starts PostgreSQL, NATS and the service's processes of its
// own, then stops, crashes and restarts them under load. `npm run test:faults`; .ci/run runs them too.
export default defineConfig({
  test: {
    // Process-level tests run the built CLI (test/support/built-cli.ts): build it once, first.
    globalSetup: ["test/support/built-cli.ts"],
    include: ["test/faults/**/*.test.ts"],
    // The three-node NATS cluster's test runs alone (`npm run test:faults:cluster`): on NATS 2.9 its
    // processes' start, making R3 streams and buckets, can outwait its bound on a loaded machine.
    exclude: process.env.FAULTS_CLUSTER === "1" ? [] : ["test/faults/nats-cluster.test.ts"],
    testTimeout: 180_000,
    hookTimeout: 120_000,
    // One at a time: each runs half a dozen processes, and their timings are part of what it checks.
    fileParallelism: false,
    reporters: ["default", ["json", { outputFile: "reports/vitest-faults.json" }]],
  },
});
