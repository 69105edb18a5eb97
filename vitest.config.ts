import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    // Process-level tests run the built CLI (test/support/built-cli.ts): build it once, first.
    globalSetup: ["test/support/built-cli.ts"],
    // Everything, the quick tier's *.unit.test.ts too (`npm run test:unit` runs those alone).
    include: ["test/**/*.test.ts"],
    // Minutes of restarts under load: `npm run test:faults` (vitest.faults.config.ts).
    exclude: ["test/faults/**", "node_modules/**"],
    // Two files at a time on two cores: process-level tests start servers of their own, and more
    // would starve them. Vitest's default (one fewer than the cores) runs one at a time here.
    maxWorkers: 2,
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // The JSON report is what .ci/run counts passed and failed tests from.
    reporters: ["default", ["json", { outputFile: "reports/vitest.json" }]],
  },
});
