/** One problem found in a rule (or a pack): where it is and what is wrong, for the person who wrote it. */
export interface RuleProblem {
  /** The file (or `inline`) the rule came from. */
  source: string;
  /** The rule's id, when it could be read. */
  rule?: string;
  /** Dotted path of the offending key inside the rule (`where.all[1].dst_endpoint.port`). */
  path: string;
  line?: number;
  column?: number;
  message: string;
}

export function formatProblem(problem: RuleProblem): string {
  const at =
    problem.line !== undefined ? `${problem.source}:${problem.line}:${problem.column ?? 1}` : problem.source;
  const rule = problem.rule !== undefined ? ` rule ${problem.rule}:` : "";
  const path = problem.path !== "" ? ` ${problem.path}:` : "";
  return `${at}:${rule}${path} ${problem.message}`;
}

/** A rule (or rule file) that cannot be compiled; `problems` lists every error found, not just the first. */
export class RuleCompileError extends Error {
  override name = "RuleCompileError";
  readonly problems: RuleProblem[];
  constructor(problems: RuleProblem[]) {
    super(
      problems.length === 1
        ? formatProblem(problems[0]!)
        : `${problems.length} problems:\n  ${problems.map(formatProblem).join("\n  ")}`,
    );
    this.problems = problems;
  }
}

/** `where.all[1].severity`: the notation a rule author uses to find the key in the file. */
export function formatPath(path: ReadonlyArray<PropertyKey>): string {
  let text = "";
  for (const part of path) {
    if (typeof part === "number") text += `[${part}]`;
    else text += text === "" ? String(part) : `.${String(part)}`;
  }
  return text;
}

/** Maps a path inside a rule to a line and column (YAML sources). */
export type Locate = (
  path: ReadonlyArray<PropertyKey>,
  target?: "key" | "value",
) => { line: number; column: number } | undefined;

/**
 * Problems collected while compiling one rule. A compile step reports a problem and goes on, so
 * the author sees every mistake of a rule at once; `throwIfAny` ends the compilation.
 */
export class ProblemSink {
  readonly problems: RuleProblem[] = [];
  readonly source: string;
  rule: string | undefined;
  readonly #locate: Locate | undefined;

  constructor(source: string, locate?: Locate) {
    this.source = source;
    this.#locate = locate;
  }

  /** `target: "key"` points at the key itself (an unknown key), else at the value. */
  report(path: ReadonlyArray<PropertyKey>, message: string, target: "key" | "value" = "value"): void {
    const position = this.#locate?.(path, target);
    this.problems.push({
      source: this.source,
      ...(this.rule !== undefined ? { rule: this.rule } : {}),
      path: formatPath(path),
      ...(position ? { line: position.line, column: position.column } : {}),
      message,
    });
  }

  /** Throws every problem found, in the order they appear in the file. */
  throwIfAny(): void {
    if (this.problems.length === 0) return;
    const order = (problem: RuleProblem) => (problem.line ?? 0) * 100_000 + (problem.column ?? 0);
    throw new RuleCompileError([...this.problems].sort((a, b) => order(a) - order(b)));
  }
}
