#!/usr/bin/env node
import { ExitError, exitOnError, prepareApp, runToEnd } from "@vigil/runtime";
import { topics } from "@vigil/schema";
import { checkInput, cli, describeSummary, InputError, runIngestFirewall, STAGE } from "./index.ts";

await exitOnError(cli.definition.name, async () => {
  const { values, logger, metrics, transport } = await prepareApp(cli, {
    stage: STAGE,
    topics: () => [topics.firewallEvents, topics.dlq],
    needsKafka: (values) => !values.dryRun,
    // A bad input or TLS file is reported before connecting anywhere.
    precheck: async (values) => {
      try {
        await checkInput(values);
      } catch (error) {
        if (error instanceof InputError) throw new ExitError(error.message, 2);
        throw error;
      }
    },
  });

  // SIGTERM: listeners stop accepting, the queue drains, what was received is published, then the summary.
  await runToEnd(
    { logger, transport, metrics, values },
    {
      name: cli.definition.name,
      json: values.json,
      run: (signal) =>
        runIngestFirewall({
          transport,
          logger,
          metrics,
          config: values,
          stdin: process.stdin,
          out: process.stdout,
          errOut: process.stderr,
          signal,
          // A full queue pauses the TCP senders and drops UDP: not ready, so traffic goes elsewhere.
          onListening: (server) =>
            metrics.watchBackpressure(() =>
              server.backpressured ? "syslog queue full: TCP senders paused" : undefined,
            ),
        }),
      describe: (summary) =>
        describeSummary(
          summary,
          values.listenUdp || values.listenTcp ? "syslog" : values.file === "-" ? "stdin" : values.file,
        ),
      inputError: (error) => {
        if (error instanceof InputError) return error.message;
        const code = (error as NodeJS.ErrnoException).code;
        return code === "EADDRINUSE" || code === "EACCES"
          ? `cannot listen: ${(error as Error).message}`
          : undefined;
      },
    },
  );
});
