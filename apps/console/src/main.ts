#!/usr/bin/env node
import { createIncidentStore } from "@vigil/incident-store";
import { ReferenceDocumentError } from "@vigil/rules";
import { runService } from "@vigil/runtime";
import {
  ConsoleConfigError,
  cli,
  consoleTopics,
  followReferenceTables,
  loadTokens,
  parseTokensEnv,
  STAGE,
  startConsole,
  TokensError,
} from "./index.ts";

await runService(cli, {
  stage: STAGE,
  topics: () => consoleTopics,
  start: async ({ transport, logger, values }) => {
    const tokens = [
      ...(values.tokens ? await loadTokens(values.tokens) : []),
      ...parseTokensEnv(process.env.VIGIL_CONSOLE_TOKENS ?? ""),
    ];
    // Without the sink's database the console keeps its own copy, built from the topics.
    const store = await createIncidentStore(values.databaseUrl ? { databaseUrl: values.databaseUrl } : {});
    const reference = await followReferenceTables({
      transport,
      logger,
      topicPrefix: values.topicPrefix,
      files: {
        baselines: values.baselines,
        priorityLists: values.priorityList,
        exceptions: values.exceptions,
      },
    });
    const running = await startConsole({
      transport,
      store,
      tables: reference.tables,
      logger,
      mirror: !values.databaseUrl,
      config: {
        listen: values.listen,
        tokens,
        topicPrefix: values.topicPrefix,
        consoleUrl: values.consoleUrl,
      },
    });
    return {
      stop: async () => {
        await running.stop();
        await reference.stop();
        await store.close();
      },
    };
  },
  isConfigError: (error) =>
    error instanceof TokensError ||
    error instanceof ConsoleConfigError ||
    error instanceof ReferenceDocumentError,
});
