#!/usr/bin/env node
import { runService } from "@vigil/runtime";
import { topics } from "@vigil/schema";
import { cli, STAGE, startSinkIncidents } from "./index.ts";

await runService(cli, {
  stage: STAGE,
  topics: () => [topics.findings, topics.incidents, topics.dlq],
  start: ({ transport, logger, metrics, values }) =>
    startSinkIncidents({ transport, logger, metrics, config: values }),
});
