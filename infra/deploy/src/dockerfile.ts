// Just enough of a Dockerfile reader for the image tests: stages, their instructions, and the command the
// runtime stage's ENTRYPOINT starts (which the image test runs without Docker).
import { readFileSync } from "node:fs";
import { z } from "zod";

export interface Instruction {
  keyword: string;
  args: string;
}
export interface Stage {
  name: string | undefined;
  base: string;
  instructions: Instruction[];
}
export interface Dockerfile {
  /** ARGs declared before the first FROM (usable in FROM lines), with their defaults. */
  args: Map<string, string>;
  stages: Stage[];
}

export const DOCKERFILE = new URL("../Dockerfile", import.meta.url);

/** Instructions per stage (comments dropped, `\` continuations joined). */
export function parseDockerfile(text: string): Dockerfile {
  const lines = text
    .replace(/\\\r?\n/g, " ")
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line !== "" && !line.startsWith("#"));
  const args = new Map<string, string>();
  const stages: Stage[] = [];
  for (const line of lines) {
    const [keyword = "", ...rest] = line.split(/\s+/);
    const instruction = { keyword: keyword.toUpperCase(), args: rest.join(" ") };
    if (instruction.keyword === "FROM") {
      const match = /^(\S+)(?:\s+AS\s+(\S+))?$/i.exec(instruction.args);
      if (match === null) throw new Error(`Dockerfile: unreadable FROM line: ${line}`);
      stages.push({ base: match[1]!, name: match[2], instructions: [] });
    } else if (stages.length === 0 && instruction.keyword === "ARG") {
      const [name = "", value = ""] = instruction.args.split("=", 2);
      args.set(name, value);
    } else {
      stages.at(-1)?.instructions.push(instruction);
    }
  }
  return { args, stages };
}

export function readDockerfile(): Dockerfile {
  return parseDockerfile(readFileSync(DOCKERFILE, "utf8"));
}

/** The last stage's ENTRYPOINT in exec form (a JSON array of strings; the shell form is refused). */
export function entrypoint(dockerfile: Dockerfile): string[] {
  const found = dockerfile.stages.at(-1)?.instructions.filter((i) => i.keyword === "ENTRYPOINT") ?? [];
  if (found.length !== 1)
    throw new Error(`Dockerfile: expected one ENTRYPOINT in the runtime stage, found ${found.length}`);
  const parsed = z.array(z.string()).min(1).safeParse(JSON.parse(found[0]!.args));
  if (!parsed.success)
    throw new Error(`Dockerfile: ENTRYPOINT must be a JSON array of strings, got ${found[0]!.args}`);
  return parsed.data;
}

/** What the init process (tini) starts: the ENTRYPOINT after its `--`. */
export function entrypointCommand(dockerfile: Dockerfile): string[] {
  const argv = entrypoint(dockerfile);
  return argv.slice(argv.indexOf("--") + 1);
}
