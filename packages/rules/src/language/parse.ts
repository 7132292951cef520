/**
 * Rule files: YAML, one rule per document (`---` separates them). Syntax errors, duplicate keys and
 * every validation problem are reported with the file, line and column, the rule id and the key.
 */
import { readFile } from "node:fs/promises";
import {
  type Document,
  isMap,
  isPair,
  isScalar,
  isSeq,
  LineCounter,
  type Node,
  parseAllDocuments,
} from "yaml";
import { type CompileOptions, compileRuleSpec, type DeclarativeRule } from "./compile.ts";
import { type Locate, RuleCompileError, type RuleProblem } from "./errors.ts";

export const ruleFileLimits = { bytes: 1024 * 1024, documents: 1000, aliases: 100 };

/** Finds where a path is in a YAML document: the value, or the key itself for `target: "key"`. */
export function yamlLocator(document: Document, lineCounter: LineCounter): Locate {
  const at = (offset: number | undefined) => {
    if (offset === undefined) return undefined;
    const position = lineCounter.linePos(offset);
    return { line: position.line, column: position.col };
  };
  return (path, target = "value") => {
    let node: unknown = document.contents;
    let best: number | undefined = (node as Node | null)?.range?.[0];
    for (const [index, part] of path.entries()) {
      if (isMap(node)) {
        const pair = node.items.find(
          (item) => isPair(item) && isScalar(item.key) && String(item.key.value) === String(part),
        );
        if (!pair) break;
        const key = pair.key as Node;
        const value = pair.value as Node | null;
        const last = index === path.length - 1;
        best = (last && target === "key") || !value?.range ? (key.range?.[0] ?? best) : value.range[0];
        node = value;
      } else if (isSeq(node) && typeof part === "number") {
        const item = node.items[part] as Node | undefined;
        if (!item) break;
        best = item.range?.[0] ?? best;
        node = item;
      } else break;
    }
    return at(best);
  };
}

/** Parses rule YAML (one rule per document) and compiles every rule; throws RuleCompileError with every problem found. */
export function compileRules(text: string, source = "inline"): DeclarativeRule[] {
  if (text.length > ruleFileLimits.bytes)
    throw new RuleCompileError([
      { source, path: "", message: `rule file larger than ${ruleFileLimits.bytes} bytes` },
    ]);
  const lineCounter = new LineCounter();
  let documents: Document.Parsed[];
  try {
    documents = parseAllDocuments(text, {
      lineCounter,
      uniqueKeys: true,
      prettyErrors: false,
    }) as Document.Parsed[];
  } catch (error) {
    throw new RuleCompileError([
      { source, path: "", message: `cannot parse YAML: ${(error as Error).message}` },
    ]);
  }
  if (!Array.isArray(documents)) documents = [];
  if (documents.length > ruleFileLimits.documents)
    throw new RuleCompileError([
      { source, path: "", message: `more than ${ruleFileLimits.documents} rules in one file` },
    ]);
  const problems: RuleProblem[] = [];
  const rules: DeclarativeRule[] = [];
  const seen = new Map<string, number>();
  documents.forEach((document, index) => {
    const syntax = [...document.errors];
    if (syntax.length > 0) {
      for (const error of syntax) {
        const position = lineCounter.linePos(error.pos[0]);
        problems.push({
          source,
          path: "",
          line: position.line,
          column: position.col,
          message: error.message.split("\n")[0]!,
        });
      }
      return;
    }
    let value: unknown;
    try {
      value = document.toJS({ maxAliasCount: ruleFileLimits.aliases });
    } catch (error) {
      problems.push({ source, path: "", message: `document ${index + 1}: ${(error as Error).message}` });
      return;
    }
    if (value === null || value === undefined) return; // an empty document (e.g. a trailing `---`)
    const locate = yamlLocator(document, lineCounter);
    const options: CompileOptions = { source, locate };
    try {
      const rule = compileRuleSpec(value, options);
      const previous = seen.get(rule.id);
      if (previous !== undefined) {
        const position = locate(["id"]);
        problems.push({
          source,
          rule: rule.id,
          path: "id",
          ...(position ? { line: position.line, column: position.column } : {}),
          message: `duplicate rule id (also document ${previous + 1})`,
        });
      } else {
        seen.set(rule.id, index);
        rules.push(rule);
      }
    } catch (error) {
      if (error instanceof RuleCompileError) problems.push(...error.problems);
      else if (error instanceof RangeError)
        problems.push({ source, path: "", message: `document ${index + 1} is nested too deeply` });
      else throw error;
    }
  });
  if (problems.length > 0) throw new RuleCompileError(problems);
  return rules;
}

/** Reads and compiles a rule file. */
export async function loadRuleFile(path: string): Promise<DeclarativeRule[]> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    throw new RuleCompileError([
      { source: path, path: "", message: `cannot read the file: ${(error as Error).message}` },
    ]);
  }
  return compileRules(text, path);
}
