/**
 * Events per second matching Sigma rules over the corpus's Windows regression events (one core):
 * all Windows process_creation rules, then every Windows rule, each event against every rule.
 * Run: pnpm --filter @vigil/sigma bench (the corpus is ../shared/corpora/sigma beside the repo,
 * or SIGMA_CORPUS).
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import {
  loadSigmaRules,
  matchingRules,
  parseEvents,
  type SigmaRule,
  selectRules,
  windowsPipeline,
} from "../src/index.ts";

const corpus =
  process.env.SIGMA_CORPUS ?? path.resolve(import.meta.dirname, "../../../../shared/corpora/sigma");
if (!existsSync(path.join(corpus, "rules"))) {
  process.stderr.write(`the Sigma corpus is missing under ${corpus} (set SIGMA_CORPUS)\n`);
  process.exit(1);
}

function* walk(folder: string): Generator<string> {
  for (const entry of readdirSync(folder, { withFileTypes: true })) {
    const full = path.join(folder, entry.name);
    if (entry.isDirectory()) yield* walk(full);
    else yield full;
  }
}

const loadStart = performance.now();
const ruleSet = await loadSigmaRules(
  ["rules", "rules-emerging-threats", "rules-threat-hunting"].map((folder) => path.join(corpus, folder)),
  { pipelines: [windowsPipeline()] },
);
const loadMs = performance.now() - loadStart;

const events = [...walk(path.join(corpus, "regression_data"))]
  .filter((file) => /\.json(cls)?$/.test(file))
  .flatMap((file) => parseEvents(readFileSync(file, "utf8")).events.map(({ event }) => event));

/** Best of three timed rounds: the machine is shared, the best round is the least disturbed. */
function measure(label: string, rules: readonly SigmaRule[], seconds = 2): void {
  // Warm up so the JIT has compiled the closures before timing.
  for (let round = 0; round < 20; round++) for (const event of events) matchingRules(rules, event);
  let perSecond = 0;
  let matches = 0;
  let processed = 0;
  for (let round = 0; round < 3; round++) {
    let roundProcessed = 0;
    let roundMatches = 0;
    const start = performance.now();
    const deadline = start + seconds * 1000;
    while (performance.now() < deadline) {
      for (const event of events) roundMatches += matchingRules(rules, event).length;
      roundProcessed += events.length;
    }
    const rate = roundProcessed / ((performance.now() - start) / 1000);
    if (rate > perSecond) {
      perSecond = rate;
      matches = roundMatches;
      processed = roundProcessed;
    }
  }
  const evaluations = ((perSecond * rules.length) / 1e6).toFixed(1);
  const rate = Math.round(perSecond).toLocaleString("en-US");
  process.stdout.write(
    `${label.padEnd(32)} ${String(rules.length).padStart(5)} rules  ${rate.padStart(7)} events/s  ${evaluations.padStart(5)} M rule evaluations/s  (${(matches / processed).toFixed(2)} matches/event)\n`,
  );
}

process.stdout.write(
  `node ${process.version}, ${os.cpus().length} cores, load average ${os.loadavg()[0]!.toFixed(1)}; ${ruleSet.rules.length} rules loaded in ${Math.round(loadMs)} ms (${ruleSet.failures.length} failures), ${events.length} regression events (Windows event log JSON, windows pipeline)\n`,
);
const processCreation = selectRules(ruleSet.rules, { product: "windows", category: "process_creation" });
measure("windows process_creation rules", processCreation);
measure("all windows rules", selectRules(ruleSet.rules, { product: "windows" }));
const processEvents = events.filter(
  (event) => (event.Event as { System?: { EventID?: number } }).System?.EventID === 1,
);
process.stdout.write(`(${processEvents.length} of the events are Sysmon process creations)\n`);
