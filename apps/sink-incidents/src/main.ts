#!/usr/bin/env node
import { runService } from "@vigil/runtime";
import { cli, isConfigError, STAGE, sinkTopics, startSinkIncidents } from "./index.ts";

await runService(cli, {
  stage: STAGE,
  topics: () => sinkTopics,
  start: ({ transport, logger, metrics, values }) =>
    startSinkIncidents({ transport, logger, metrics, config: values }),
  // A bad urgency matrix, escalation policy, priority list or outputs file is a configuration problem.
  isConfigError,
});
