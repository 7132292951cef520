import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";

// Absolute, so that package scripts (`vitest run --config ../../vitest.config.ts --dir .`) resolve them too.
const testkit = (file: string) => fileURLToPath(new URL(`./packages/testkit/src/${file}`, import.meta.url));

// VIGIL_SKIP_INTEGRATION=1 is the explicit, announced opt-out: no broker, no integration project.
const skipIntegration = !["", "0", "false"].includes(process.env.VIGIL_SKIP_INTEGRATION ?? "");
// From the repo root, or from a package directory (package scripts run vitest there with this config).
const sources = ["{packages,apps}/*/src/**/", "infra/*/src/**/", "src/**/"];

export default defineConfig({
  test: {
    // A package without tests yet (`pnpm --filter <pkg> test`) is not a failure.
    passWithNoTests: true,
    reporters: ["default", testkit("integration-reporter.ts")],
    projects: [
      {
        extends: true,
        test: {
          name: "unit",
          include: sources.map((dir) => `${dir}*.test.ts`),
          exclude: ["**/node_modules/**", "**/*.integration.test.ts"],
        },
      },
      ...(skipIntegration
        ? []
        : [
            {
              extends: true,
              test: {
                name: "integration",
                include: sources.map((dir) => `${dir}*.integration.test.ts`),
                globalSetup: [testkit("global-setup.ts")],
                testTimeout: 120_000,
                hookTimeout: 120_000,
                // One broker and two cores: files one after another keep the broker and the machine calm.
                fileParallelism: false,
              },
            },
          ]),
    ],
  },
});
