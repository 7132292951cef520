/**
 * Templates: `{{ path }}` interpolation for titles, details, group keys and keys. Only field
 * lookups and fallbacks (`{{ asset.hostname || asset.id || "unknown" }}`): no expressions, no
 * code, no second pass over interpolated values. Every value and the result are length-capped
 * and stripped of control characters, so a hostile event cannot forge lines or bloat findings.
 */
import { type Accessor, compileAccessor } from "./accessor.ts";
import { type ConditionContext, type Path, resolvePath } from "./conditions.ts";
import { isVirtualRoot } from "./fields.ts";
import type { Frame } from "./scope.ts";
import { clip, renderValue } from "./text.ts";

export interface CompiledTemplate {
  render(frame: Frame): string;
  /** Event-field paths it reads (not virtual roots): what an absence rule keeps to render later. */
  eventPaths: string[][];
  source: string;
}

export const templateLimits = { source: 8192, placeholders: 64, value: 256 };

type Alternative = { literal: string } | { get: Accessor };
type Part = string | Alternative[];

const literalPattern = /^"([^"]*)"$|^'([^']*)'$/;

export function compileTemplate(
  source: unknown,
  at: Path,
  context: Pick<ConditionContext, "sink" | "schemas" | "kinds" | "rule">,
  max: number,
  options: { multiline?: boolean } = {},
): CompiledTemplate | undefined {
  if (typeof source !== "string") {
    context.sink.report(at, "expected a text template");
    return undefined;
  }
  if (source.length > templateLimits.source) {
    context.sink.report(at, `template longer than ${templateLimits.source} characters`);
    return undefined;
  }
  const parts: Part[] = [];
  const eventPaths: string[][] = [];
  let position = 0;
  let placeholders = 0;
  let ok = true;
  while (position < source.length) {
    const open = source.indexOf("{{", position);
    if (open < 0) {
      parts.push(source.slice(position));
      break;
    }
    if (open > position) parts.push(source.slice(position, open));
    const close = source.indexOf("}}", open + 2);
    if (close < 0) {
      context.sink.report(at, `unclosed "{{" at character ${open + 1}`);
      return undefined;
    }
    if (++placeholders > templateLimits.placeholders) {
      context.sink.report(at, `more than ${templateLimits.placeholders} placeholders`);
      return undefined;
    }
    const expression = source.slice(open + 2, close);
    const alternatives: Alternative[] = [];
    for (const raw of expression.split("||")) {
      const text = raw.trim();
      const literal = literalPattern.exec(text);
      if (literal) {
        alternatives.push({ literal: literal[1] ?? literal[2] ?? "" });
        continue;
      }
      const resolved = resolvePath(text, at, { ...context, mode: "event" });
      if (!resolved) {
        ok = false;
        continue;
      }
      if (!isVirtualRoot(resolved.segments[0]!)) eventPaths.push(resolved.segments);
      alternatives.push({ get: compileAccessor(resolved.segments, "event", context.rule) });
    }
    parts.push(alternatives);
    position = close + 2;
  }
  if (!ok) return undefined;
  const multiline = options.multiline === true;
  const render = (frame: Frame): string => {
    let out = "";
    for (const part of parts) {
      if (typeof part === "string") {
        out += part;
        continue;
      }
      for (const alternative of part) {
        const text =
          "literal" in alternative
            ? alternative.literal
            : renderValue(alternative.get(frame), templateLimits.value);
        if (text !== "") {
          out += text;
          break;
        }
      }
      if (out.length > max * 2) break;
    }
    return clip(out, max, multiline);
  };
  return { render, eventPaths, source };
}
