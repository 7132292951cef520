/**
 * Name patterns of the reference documents: `*` matches any run of characters, `?` one character,
 * case-insensitively; nothing else is special. Matching is a two-pointer walk with one remembered
 * star (linear-time per star retry, no regular-expression backtracking on hostile names).
 */
export interface Glob {
  readonly pattern: string;
  /** Whether the pattern has no wildcard (an exact, case-insensitive name). */
  readonly literal: boolean;
  /** Characters that are not wildcards: a rough measure of how specific the pattern is. */
  readonly fixedLength: number;
  matches(text: string): boolean;
}

export function compileGlob(pattern: string): Glob {
  const lowered = pattern.toLowerCase();
  const literal = !/[*?]/.test(pattern);
  return {
    pattern,
    literal,
    fixedLength: lowered.replace(/[*?]/g, "").length,
    matches: literal
      ? (text) => text.toLowerCase() === lowered
      : (text) => wildcardMatch(lowered, text.toLowerCase()),
  };
}

function wildcardMatch(pattern: string, text: string): boolean {
  let p = 0;
  let t = 0;
  let star = -1;
  let resume = 0;
  while (t < text.length) {
    const c = pattern[p];
    if (c === "?" || (c !== undefined && c !== "*" && c === text[t])) {
      p += 1;
      t += 1;
    } else if (c === "*") {
      star = p;
      resume = t;
      p += 1;
    } else if (star >= 0) {
      p = star + 1;
      resume += 1;
      t = resume;
    } else {
      return false;
    }
  }
  while (pattern[p] === "*") p += 1;
  return p === pattern.length;
}
