/**
 * Sigma conditions: `and`, `or`, `not`, parentheses, `1 of x*`, `all of x*`, `1 of them`,
 * `all of them`. Precedence, tightest first: `not`, `and`, `or` (so `a or b and not c` is
 * `a or (b and (not c))`). Parsed to a small tree, then compiled to closures over the search
 * identifiers' predicates; the tree is not looked at again.
 */
import { allOf, anyOf, type EventPredicate } from "./detection.ts";

export type ConditionNode =
  | { type: "identifier"; name: string }
  | { type: "not"; operand: ConditionNode }
  | { type: "and" | "or"; operands: ConditionNode[] }
  /** `count` is the least number of matching identifiers (`1 of`), or "all". */
  | { type: "of"; count: number | "all"; pattern: string };

export class ConditionSyntaxError extends Error {
  override name = "ConditionSyntaxError";
  readonly aggregation: boolean;
  constructor(message: string, aggregation = false) {
    super(message);
    this.aggregation = aggregation;
  }
}

type Token = { kind: "(" | ")" | "word"; text: string; at: number };

function tokenize(condition: string): Token[] {
  const tokens: Token[] = [];
  const pattern = /\s*(?:([()])|([^\s()|]+)|(\|)|(\S))/y;
  let match: RegExpExecArray | null = pattern.exec(condition);
  while (match !== null && match[0] !== "") {
    const at = match.index + match[0].length - (match[1] ?? match[2] ?? match[3] ?? match[4] ?? "").length;
    if (match[3] !== undefined) {
      throw new ConditionSyntaxError(
        `aggregation '${condition.slice(at).trim()}' (Sigma v1) is not supported: write a correlation rule`,
        true,
      );
    }
    if (match[1] !== undefined) tokens.push({ kind: match[1] as "(" | ")", text: match[1], at });
    else if (match[2] !== undefined) tokens.push({ kind: "word", text: match[2], at });
    else throw new ConditionSyntaxError(`unexpected character '${match[4]}' at ${at + 1}`);
    match = pattern.exec(condition);
  }
  return tokens;
}

const reserved = new Set(["and", "or", "not", "of", "them", "all"]);

export function parseCondition(condition: string): ConditionNode {
  const tokens = tokenize(condition);
  let position = 0;
  const peek = (): Token | undefined => tokens[position];
  const isWord = (token: Token | undefined, word: string) =>
    token?.kind === "word" && token.text.toLowerCase() === word;
  const where = (token: Token | undefined) =>
    token === undefined ? "at the end" : `at '${token.text}' (character ${token.at + 1})`;

  const parseOr = (): ConditionNode => {
    const operands = [parseAnd()];
    while (isWord(peek(), "or")) {
      position++;
      operands.push(parseAnd());
    }
    return operands.length === 1 ? operands[0]! : { type: "or", operands };
  };
  const parseAnd = (): ConditionNode => {
    const operands = [parseNot()];
    while (isWord(peek(), "and")) {
      position++;
      operands.push(parseNot());
    }
    return operands.length === 1 ? operands[0]! : { type: "and", operands };
  };
  const parseNot = (): ConditionNode => {
    if (isWord(peek(), "not")) {
      position++;
      return { type: "not", operand: parseNot() };
    }
    return parseAtom();
  };
  const parseAtom = (): ConditionNode => {
    const token = peek();
    if (token === undefined) throw new ConditionSyntaxError("unexpected end of condition");
    if (token.kind === "(") {
      position++;
      const inner = parseOr();
      if (peek()?.kind !== ")") throw new ConditionSyntaxError(`missing ')' ${where(peek())}`);
      position++;
      return inner;
    }
    if (token.kind === ")") throw new ConditionSyntaxError(`unexpected ')' (character ${token.at + 1})`);
    const next = tokens[position + 1];
    if (isWord(next, "of")) {
      const quantifier = token.text.toLowerCase();
      let count: number | "all";
      if (quantifier === "all") count = "all";
      else if (quantifier === "any") count = 1;
      else if (/^[1-9]\d*$/.test(quantifier)) count = Number(quantifier);
      else throw new ConditionSyntaxError(`expected '1' or 'all' before 'of' ${where(token)}`);
      const target = tokens[position + 2];
      if (target?.kind !== "word")
        throw new ConditionSyntaxError(`expected a name pattern or 'them' after 'of' ${where(target)}`);
      position += 3;
      return { type: "of", count, pattern: target.text.toLowerCase() === "them" ? "them" : target.text };
    }
    if (reserved.has(token.text.toLowerCase()))
      throw new ConditionSyntaxError(`unexpected '${token.text}' ${where(token)}`);
    position++;
    return { type: "identifier", name: token.text };
  };

  const tree = parseOr();
  if (position < tokens.length) throw new ConditionSyntaxError(`unexpected ${where(peek())}`);
  return tree;
}

function patternToRegExp(pattern: string): RegExp {
  const escaped = pattern
    .replace(/[.+^${}()|[\]\\]/g, "\\$&")
    .replace(/\*/g, ".*")
    .replace(/\?/g, ".");
  return new RegExp(`^${escaped}$`);
}

/** The identifiers `x of pattern` covers; `them` leaves out identifiers starting with `_` (as the spec says). */
export function identifiersMatching(pattern: string, identifiers: readonly string[]): string[] {
  if (pattern === "them") return identifiers.filter((name) => !name.startsWith("_"));
  const regexp = patternToRegExp(pattern);
  return identifiers.filter((name) => regexp.test(name));
}

/** Every identifier the condition refers to (to report unknown or unused ones). */
export function conditionIdentifiers(node: ConditionNode, identifiers: readonly string[]): string[] {
  switch (node.type) {
    case "identifier":
      return [node.name];
    case "not":
      return conditionIdentifiers(node.operand, identifiers);
    case "and":
    case "or":
      return node.operands.flatMap((operand) => conditionIdentifiers(operand, identifiers));
    case "of":
      return identifiersMatching(node.pattern, identifiers);
  }
}

export function compileCondition(
  node: ConditionNode,
  identifiers: ReadonlyMap<string, EventPredicate>,
): EventPredicate {
  switch (node.type) {
    case "identifier": {
      const predicate = identifiers.get(node.name);
      if (!predicate) {
        throw new ConditionSyntaxError(
          `unknown search identifier '${node.name}' (defined: ${[...identifiers.keys()].join(", ") || "none"})`,
        );
      }
      return predicate;
    }
    case "not": {
      const operand = compileCondition(node.operand, identifiers);
      return (event) => !operand(event);
    }
    case "and":
      return allOf(node.operands.map((operand) => compileCondition(operand, identifiers)));
    case "or":
      return anyOf(node.operands.map((operand) => compileCondition(operand, identifiers)));
    case "of": {
      const names = identifiersMatching(node.pattern, [...identifiers.keys()]);
      if (names.length === 0) {
        throw new ConditionSyntaxError(`'${node.count} of ${node.pattern}' matches no search identifier`);
      }
      const predicates = names.map((name) => identifiers.get(name)!);
      if (node.count === "all") return allOf(predicates);
      if (node.count === 1) return anyOf(predicates);
      const least = node.count;
      return (event) => {
        let matched = 0;
        for (const predicate of predicates) if (predicate(event) && ++matched >= least) return true;
        return false;
      };
    }
  }
}
