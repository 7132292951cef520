/** A rule's log source, and choosing rules by it. */

export interface SigmaLogsource {
  category?: string | undefined;
  product?: string | undefined;
  service?: string | undefined;
  definition?: string | undefined;
}

export interface LogsourceSelector {
  category?: string | undefined;
  product?: string | undefined;
  service?: string | undefined;
}

/** True when every part the selector names equals the log source's (case-insensitive). */
export function logsourceMatches(logsource: SigmaLogsource, selector: LogsourceSelector): boolean {
  for (const key of ["category", "product", "service"] as const) {
    const wanted = selector[key];
    if (wanted === undefined) continue;
    const actual = logsource[key];
    if (actual === undefined || actual.toLowerCase() !== wanted.toLowerCase()) return false;
  }
  return true;
}

/** The rules whose log source the selector matches, e.g. `{ product: "windows", category: "process_creation" }`. */
export function selectRules<R extends { logsource: SigmaLogsource }>(
  rules: readonly R[],
  selector: LogsourceSelector,
): R[] {
  return rules.filter((rule) => logsourceMatches(rule.logsource, selector));
}
