/**
 * Version comparison for baselines and advisories: Windows builds (`10.0.17763.1879`), dotted
 * versions with letters (`1.0.2k`, `3.0.2-0ubuntu1.15`, `2.0-beta9`), numbers of any size.
 *
 * A version is read as runs of digits and runs of letters; everything else separates. Runs compare
 * one by one: numbers by value (`04` = `4`), letters case-insensitively. A version that ends is
 * padded: zeros that only pad do not count (`1.0` = `1.0.0`); a pre-release word (`dev`, `alpha`, `beta`,
 * `pre`, `preview`, `rc`) sorts before the end (`2.0-rc1` < `2.0`), any other word after it
 * (`1.0.1a` > `1.0.1`), and numbers after words (`1.0.1` > `1.0a`). This is a total order: each
 * version maps to one token sequence compared lexicographically.
 */

type Token = { rank: 0 | 2 | 3; text: string; pre: number };

const END_RANK = 1;
const PRE_RELEASE: Record<string, number> = {
  dev: 0,
  snapshot: 0,
  alpha: 1,
  beta: 2,
  pre: 3,
  preview: 3,
  rc: 4,
};

const RUN = /[0-9]+|[A-Za-z]+/g;

function rawTokens(version: string): Token[] {
  const tokens: Token[] = [];
  for (const match of version.matchAll(RUN)) {
    const text = match[0];
    const first = text.charCodeAt(0);
    if (first >= 48 && first <= 57) {
      tokens.push({ rank: 3, text: text.replace(/^0+(?=.)/, ""), pre: 0 });
    } else {
      const lower = text.toLowerCase();
      const pre = PRE_RELEASE[lower];
      tokens.push(pre !== undefined ? { rank: 0, text: lower, pre } : { rank: 2, text: lower, pre: 0 });
    }
  }
  return tokens;
}

/**
 * Zeros that only pad (before the end or before a word) do not count: `1.0` = `1`, `2.0-rc1` =
 * `2-rc1` (so that it sorts before `2.0`), `1.0a` = `1a`.
 */
function normalized(tokens: Token[]): Token[] {
  const kept: Token[] = [];
  for (let index = 0; index < tokens.length; index++) {
    const token = tokens[index]!;
    if (token.rank === 3 && token.text === "0") {
      let next = index + 1;
      while (next < tokens.length && tokens[next]!.rank === 3 && tokens[next]!.text === "0") next += 1;
      if (next >= tokens.length || tokens[next]!.rank !== 3) {
        index = next - 1;
        continue;
      }
    }
    kept.push(token);
  }
  return kept;
}

function compareText(a: string, b: string): -1 | 0 | 1 {
  return a < b ? -1 : a > b ? 1 : 0;
}

function compareToken(a: Token | undefined, b: Token | undefined): -1 | 0 | 1 {
  const rankA = a?.rank ?? END_RANK;
  const rankB = b?.rank ?? END_RANK;
  if (rankA !== rankB) return rankA < rankB ? -1 : 1;
  if (a === undefined || b === undefined) return 0;
  if (a.rank === 3) {
    if (a.text.length !== b.text.length) return a.text.length < b.text.length ? -1 : 1;
    return compareText(a.text, b.text);
  }
  if (a.pre !== b.pre) return a.pre < b.pre ? -1 : 1;
  return compareText(a.text, b.text);
}

function compareTokens(a: Token[], b: Token[]): -1 | 0 | 1 {
  const length = Math.max(a.length, b.length);
  for (let index = 0; index < length; index++) {
    const order = compareToken(a[index], b[index]);
    if (order !== 0) return order;
  }
  return 0;
}

/** -1, 0 or 1 as `a` is older than, the same as, or newer than `b`. */
export function compareVersions(a: string, b: string): -1 | 0 | 1 {
  return compareTokens(normalized(rawTokens(a)), normalized(rawTokens(b)));
}

/** Whether the text can be compared as a version at all (it has a digit). */
export function isVersion(text: string): boolean {
  return /[0-9]/.test(text);
}

/**
 * Compares a version with an upper bound at the precision the bound is written in: `122` approves
 * every `122.x`, `122.0.6261.112` that build and older. Returns 1 when the version is beyond it.
 */
export function compareWithUpperBound(version: string, bound: string): -1 | 0 | 1 {
  const order = compareVersions(version, bound);
  if (order <= 0) return order;
  const boundTokens = rawTokens(bound);
  const truncated = rawTokens(version).slice(0, boundTokens.length);
  return compareTokens(normalized(truncated), normalized(boundTokens)) > 0 ? 1 : 0;
}

/** The leading numeric runs of a version (`22.04.4 LTS` -> 22, 04, 4). */
function numericPrefix(version: string): string[] {
  const numbers: string[] = [];
  for (const token of rawTokens(version)) {
    if (token.rank !== 3) break;
    numbers.push(token.text);
  }
  return numbers;
}

/**
 * Compares an OS version with a bound using only the precision the host reports: a host known as
 * `10.0.17763` is neither above nor below `10.0.17763.1879` (its revision is not known), so the
 * answer is `undefined`; against `10.0.19045` it is below. Only the leading numeric runs count.
 */
export function compareKnownPrecision(version: string, bound: string): -1 | 0 | 1 | undefined {
  const host = numericPrefix(version);
  const limit = numericPrefix(bound);
  if (host.length === 0 || limit.length === 0) return undefined;
  const shared = Math.min(host.length, limit.length);
  for (let index = 0; index < shared; index++) {
    const order = compareToken(
      { rank: 3, text: host[index]!, pre: 0 },
      { rank: 3, text: limit[index]!, pre: 0 },
    );
    if (order !== 0) return order;
  }
  if (host.length >= limit.length) return host.slice(shared).some((part) => part !== "0") ? 1 : 0;
  return limit.slice(shared).every((part) => part === "0") ? 0 : undefined;
}
