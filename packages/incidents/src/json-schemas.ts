/**
 * The JSON Schemas of the incident topics, generated from the zod schemas (`z.toJSONSchema`):
 * `node src/json-schemas.ts --write` rewrites `schemas/*.json` (formatted by biome); a unit test
 * fails when their content differs from the schemas.
 */
import { execFileSync } from "node:child_process";
import { readFile, writeFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { isDeepStrictEqual } from "node:util";
import { topics } from "@vigil/schema";
import { z } from "zod";

const TOPICS = {
  "incident.json": topics.incidents,
  "incident-event.json": topics.incidentEvents,
  "response-action.json": topics.responseActions,
  "incident-command.json": topics.incidentCommands,
} as const;

export const SCHEMA_DIRECTORY = fileURLToPath(new URL("../schemas/", import.meta.url));

/** File name -> JSON text (two-space indent, trailing newline). */
export function jsonSchemas(): Map<string, string> {
  const files = new Map<string, string>();
  for (const [file, spec] of Object.entries(TOPICS)) {
    const schema = {
      ...z.toJSONSchema(spec.value),
      title: spec.name,
      description: `${spec.description} Key: ${spec.key}.`,
    };
    files.set(file, `${JSON.stringify(schema, null, 2)}\n`);
  }
  return files;
}

/** The files whose content (as JSON, whatever the formatting) differs from what the schemas generate. */
export async function staleSchemas(): Promise<string[]> {
  const stale: string[] = [];
  for (const [file, text] of jsonSchemas()) {
    const current = await readFile(`${SCHEMA_DIRECTORY}${file}`, "utf8").catch(() => undefined);
    if (current === undefined || !isDeepStrictEqual(JSON.parse(current), JSON.parse(text))) stale.push(file);
  }
  return stale;
}

if (import.meta.main) {
  if (process.argv.includes("--write")) {
    for (const [file, text] of jsonSchemas()) await writeFile(`${SCHEMA_DIRECTORY}${file}`, text);
    execFileSync("npx", ["biome", "format", "--write", SCHEMA_DIRECTORY], { stdio: "inherit" });
  } else {
    const stale = await staleSchemas();
    if (stale.length > 0) {
      console.error(`stale: ${stale.join(", ")} (run node src/json-schemas.ts --write)`);
      process.exitCode = 1;
    }
  }
}
