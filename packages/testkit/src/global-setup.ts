import type { TestProject } from "vitest/node";
import { type AcquiredBroker, acquireBroker, SKIP_INTEGRATION_VARIABLE } from "./broker.ts";
import { BROKER_INFO_VARIABLE, type BrokerInfo, integrationSkipped } from "./integration-env.ts";

/**
 * vitest globalSetup of the integration project: one broker for the whole run, shared by every
 * integration test file (each test isolates itself with its own topic prefix and group ids).
 */
export default async function setup(project: TestProject): Promise<(() => Promise<void>) | undefined> {
  if (integrationSkipped()) {
    process.stderr.write(
      `\n!!! ${SKIP_INTEGRATION_VARIABLE}=1: no Kafka broker, the integration suites are NOT run !!!\n\n`,
    );
    project.provide("kafkaBrokers", []);
    return undefined;
  }
  const previousBrokers = process.env.KAFKA_BROKERS;
  const broker: AcquiredBroker = await acquireBroker();
  project.provide("kafkaBrokers", broker.brokers);
  // Child processes started by tests (CLIs, apps) find the broker the usual way.
  process.env.KAFKA_BROKERS = broker.brokers.join(",");
  // The reporter runs in this process and says at the end what the tests ran against.
  const info: BrokerInfo = { brokers: broker.brokers, source: broker.source };
  process.env[BROKER_INFO_VARIABLE] = JSON.stringify(info);

  return async () => {
    if (previousBrokers === undefined) delete process.env.KAFKA_BROKERS;
    else process.env.KAFKA_BROKERS = previousBrokers;
    await broker.stop();
  };
}
