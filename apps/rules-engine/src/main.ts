#!/usr/bin/env node
import { runService } from "@vigil/runtime";
import { cli, engineTopics, isConfigError, STAGE, startRulesEngine } from "./index.ts";

await runService(cli, {
  stage: STAGE,
  topics: () => engineTopics,
  start: ({ transport, logger, metrics, values }) =>
    startRulesEngine({ transport, logger, metrics, config: values }),
  // A bad pack, baseline, priority list or exceptions file is a configuration problem, like a bad flag.
  isConfigError,
});
