import type { Reporter, TestModule, TestSpecification, Vitest } from "vitest/node";
import { SKIP_INTEGRATION_VARIABLE } from "./broker.ts";
import { integrationSkipped, readBrokerInfo } from "./integration-env.ts";

export const INTEGRATION_FILE_SUFFIX = ".integration.test.ts";
/** Set by CI: a run that includes no integration test at all is then a failure, whatever its scope. */
export const REQUIRE_INTEGRATION_VARIABLE = "VIGIL_REQUIRE_INTEGRATION";

export interface IntegrationTally {
  files: number;
  ran: number;
  failed: number;
  skipped: string[];
}

export function tallyIntegration(modules: ReadonlyArray<TestModule>): IntegrationTally {
  const tally: IntegrationTally = { files: 0, ran: 0, failed: 0, skipped: [] };
  for (const module of modules) {
    if (!module.moduleId.endsWith(INTEGRATION_FILE_SUFFIX)) continue;
    tally.files++;
    for (const test of module.children.allTests()) {
      const { state } = test.result();
      if (state === "passed" || state === "failed") tally.ran++;
      if (state === "failed") tally.failed++;
      if (state === "skipped") {
        const how = test.options.mode === "todo" ? "todo" : "skipped";
        tally.skipped.push(`${module.relativeModuleId} > ${test.fullName} (${how})`);
      }
    }
  }
  return tally;
}

/**
 * Says what the integration tests ran against, and fails the run when any of them did not really run:
 * a skipped or todo test in an `*.integration.test.ts` file, or integration files that ran no test.
 * The only way around it is the explicit opt-out, VIGIL_SKIP_INTEGRATION=1, which it announces loudly.
 */
export default class IntegrationReporter implements Reporter {
  private vitest: Vitest | undefined;
  private scheduledIntegrationFiles = 0;

  onInit(vitest: Vitest): void {
    this.vitest = vitest;
  }

  onTestRunStart(specifications: ReadonlyArray<TestSpecification>): void {
    this.scheduledIntegrationFiles = specifications.filter((spec) =>
      spec.moduleId.endsWith(INTEGRATION_FILE_SUFFIX),
    ).length;
  }

  onTestRunEnd(modules: ReadonlyArray<TestModule>): void {
    const say = (line: string) => process.stderr.write(`${line}\n`);
    if (integrationSkipped()) {
      say(
        `\n!!! integration: SKIPPED by ${SKIP_INTEGRATION_VARIABLE}=1; nothing was tested against a real Kafka broker !!!`,
      );
      return;
    }
    const tally = tallyIntegration(modules);
    const required = Boolean(process.env[REQUIRE_INTEGRATION_VARIABLE]);
    if (tally.files === 0 && this.scheduledIntegrationFiles === 0 && !required) {
      say("\nintegration: no integration test files in this run's scope");
      return;
    }
    const info = readBrokerInfo();
    const against = info
      ? `the real Kafka broker at ${info.brokers.join(",")} (${info.source})`
      : "no broker";
    say(
      `\nintegration: ${tally.ran} tests in ${tally.files} files ran against ${against}; ` +
        `${tally.skipped.length} skipped`,
    );

    const problems: string[] = [];
    // A name filter (-t) skips tests on purpose; that is a developer narrowing the run, not a hidden skip.
    const nameFiltered = this.vitest?.config.testNamePattern !== undefined;
    if (tally.skipped.length > 0 && !nameFiltered) {
      problems.push(
        "integration tests must run, not be skipped (use the opt-out variable to skip them all, explicitly):",
        ...tally.skipped.map((name) => `  ${name}`),
      );
    }
    if (tally.ran === 0 && (this.scheduledIntegrationFiles > 0 || required) && !nameFiltered) {
      problems.push(
        this.scheduledIntegrationFiles > 0
          ? `${this.scheduledIntegrationFiles} integration test files were scheduled, but no integration test ran`
          : `no integration test ran, and ${REQUIRE_INTEGRATION_VARIABLE} is set`,
      );
    }
    if (problems.length > 0) {
      say(`integration: FAILED\n${problems.join("\n")}`);
      process.exitCode = 1;
    }
  }
}
