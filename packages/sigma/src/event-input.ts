/**
 * Reading events from text: one JSON object, a JSON array of objects, JSON lines, or JSON
 * objects one after the other (pretty-printed, as evtx dump tools write several events).
 * A bad record is reported with its line number and skipped; the others are kept.
 */

export interface InputEvent {
  /** Position among the events read (0-based), counting only good events. */
  index: number;
  /** 1-based line where the event starts. */
  line: number;
  event: Record<string, unknown>;
}

export interface InputProblem {
  line: number;
  message: string;
}

export interface ParsedEvents {
  events: InputEvent[];
  problems: InputProblem[];
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Top-level JSON values with their 1-based start line, by bracket depth outside strings. */
function splitConcatenated(text: string): { start: number; end: number; line: number }[] {
  const values: { start: number; end: number; line: number }[] = [];
  let depth = 0;
  let start = -1;
  let startLine = 1;
  let line = 1;
  let inString = false;
  let escaped = false;
  for (let index = 0; index < text.length; index++) {
    const char = text[index];
    if (char === "\n") line++;
    if (inString) {
      if (escaped) escaped = false;
      else if (char === "\\") escaped = true;
      else if (char === '"') inString = false;
      continue;
    }
    if (char === '"') inString = true;
    else if (char === "{" || char === "[") {
      if (depth === 0) {
        start = index;
        startLine = line;
      }
      depth++;
    } else if (char === "}" || char === "]") {
      depth--;
      if (depth === 0 && start >= 0) {
        values.push({ start, end: index + 1, line: startLine });
        start = -1;
      }
      if (depth < 0) depth = 0;
    } else if (depth === 0 && !/\s/.test(char ?? "")) {
      // Stray text between objects: one bad record up to the next blank or bracket.
      let stop = index;
      while (stop < text.length && !/[\s{[]/.test(text[stop] ?? "")) stop++;
      values.push({ start: index, end: stop, line });
      index = stop - 1;
    }
  }
  if (depth > 0 && start >= 0) values.push({ start, end: text.length, line: startLine });
  return values;
}

export function parseEvents(text: string): ParsedEvents {
  const events: InputEvent[] = [];
  const problems: InputProblem[] = [];
  const add = (value: unknown, line: number) => {
    if (isRecord(value)) events.push({ index: events.length, line, event: value });
    else
      problems.push({
        line,
        message: `not a JSON object: ${Array.isArray(value) ? "an array" : JSON.stringify(value)}`,
      });
  };
  const trimmed = text.trim();
  if (trimmed === "") return { events, problems };
  try {
    const whole: unknown = JSON.parse(trimmed);
    const firstLine = text.slice(0, text.indexOf(trimmed[0]!)).split("\n").length;
    if (Array.isArray(whole)) for (const item of whole) add(item, firstLine);
    else add(whole, firstLine);
    return { events, problems };
  } catch {
    // Not one JSON document: JSON lines or concatenated objects.
  }
  const lines = text.split("\n");
  const firstContent = lines.findIndex((line) => line.trim() !== "");
  let linesMode = false;
  try {
    JSON.parse(lines[firstContent] ?? "");
    linesMode = true;
  } catch {
    linesMode = false;
  }
  if (linesMode) {
    lines.forEach((line, index) => {
      if (line.trim() === "") return;
      try {
        add(JSON.parse(line), index + 1);
      } catch (error) {
        problems.push({ line: index + 1, message: `invalid JSON: ${(error as Error).message}` });
      }
    });
    return { events, problems };
  }
  for (const { start, end, line } of splitConcatenated(text)) {
    try {
      add(JSON.parse(text.slice(start, end)), line);
    } catch (error) {
      problems.push({ line, message: `invalid JSON: ${(error as Error).message}` });
    }
  }
  return { events, problems };
}
