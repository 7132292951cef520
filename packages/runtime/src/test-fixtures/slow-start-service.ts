// A service whose start takes a while (as a rules engine restoring large tables does), for the test
// that a SIGTERM during the start ends in a clean stop. Says on stderr where it is.
import { commonOptions, defineCli } from "@vigil/config";
import { runService } from "../main.ts";

const cli = defineCli({
  name: "slow-start-service",
  version: "0.0.0",
  summary: "test fixture",
  options: commonOptions,
});

await runService(cli, {
  stage: "slow-start",
  topics: () => [],
  start: async () => {
    process.stderr.write("fixture: starting\n");
    await new Promise((resolve) => setTimeout(resolve, Number(process.env.FIXTURE_START_MS ?? 2_000)));
    process.stderr.write("fixture: started\n");
    return {
      stop: async () => {
        process.stderr.write("fixture: stopped\n");
      },
    };
  },
});
