#!/usr/bin/env node
import { PriorityListError } from "@vigil/rules";
import { runService } from "@vigil/runtime";
import { topics } from "@vigil/schema";
import { cli, STAGE, startRulesEngine } from "./index.ts";

await runService(cli, {
  stage: STAGE,
  topics: () => [topics.idsAlerts, topics.findings, topics.dlq],
  start: ({ transport, logger, metrics, values }) =>
    startRulesEngine({ transport, logger, metrics, config: values }),
  // A bad priority list is a configuration problem, like a bad flag.
  isConfigError: (error) => error instanceof PriorityListError,
});
