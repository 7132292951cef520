import { parseArgs } from "node:util";
import type { z } from "zod";

/**
 * One option of an app: a flag, the environment variable that may set it, and the zod schema
 * its value must satisfy. Flags win over the environment, the environment over the default.
 */
export interface OptionSpec<S extends z.ZodType = z.ZodType> {
  flag: string;
  env?: string;
  /** Short flag, one letter. */
  short?: string;
  /** Boolean switches take no value. */
  type: "string" | "boolean";
  schema: S;
  description: string;
  /** Shown in --help instead of the schema default (e.g. for secrets). */
  defaultText?: string;
  /** Repeating the flag collects the values (the schema then receives an array). */
  multiple?: boolean;
}

export interface CliDefinition<O extends Record<string, OptionSpec>> {
  name: string;
  version: string;
  summary: string;
  usage?: string;
  options: O;
  /** Extra paragraphs for --help (examples, exit codes). */
  epilog?: string;
}

export type ParsedCli<O extends Record<string, OptionSpec>> = { [K in keyof O]: z.output<O[K]["schema"]> };

export class ConfigError extends Error {
  override name = "ConfigError";
}

const builtins = {
  help: { type: "boolean" as const, short: "h" },
  version: { type: "boolean" as const, short: "V" },
};

export function defineCli<O extends Record<string, OptionSpec>>(definition: CliDefinition<O>) {
  return {
    definition,
    help: () => helpText(definition),
    /**
     * Parses argv and env. `--help` / `--version` are answered here (printed, then `exit(0)`);
     * an invalid value throws ConfigError naming the flag, the variable and what was expected.
     */
    parse(
      argv: readonly string[] = process.argv.slice(2),
      env: NodeJS.ProcessEnv = process.env,
      io: { out: (text: string) => void; exit: (code: number) => never } = {
        out: (text) => process.stdout.write(text),
        exit: (code) => process.exit(code),
      },
    ): { values: ParsedCli<O>; positionals: string[] } {
      // `pnpm run x -- --flag` forwards the `--` separator itself; tolerate it as the first argument.
      const args = argv[0] === "--" ? argv.slice(1) : [...argv];
      const parseOptions: Record<string, { type: "string" | "boolean"; short?: string; multiple?: boolean }> =
        {
          ...builtins,
        };
      for (const spec of Object.values(definition.options)) {
        parseOptions[spec.flag] = {
          type: spec.type,
          ...(spec.short ? { short: spec.short } : {}),
          ...(spec.multiple ? { multiple: true } : {}),
        };
      }
      let parsed: ReturnType<typeof parseArgs>;
      try {
        parsed = parseArgs({ args, options: parseOptions, allowPositionals: true, strict: true });
      } catch (error) {
        throw new ConfigError(
          `${(error as Error).message}\nRun '${definition.name} --help' for the options.`,
        );
      }
      if (parsed.values.help) {
        io.out(helpText(definition));
        return io.exit(0);
      }
      if (parsed.values.version) {
        io.out(`${definition.name} ${definition.version}\n`);
        return io.exit(0);
      }
      const values: Record<string, unknown> = {};
      const problems: string[] = [];
      for (const [key, spec] of Object.entries(definition.options)) {
        const fromFlag = parsed.values[spec.flag];
        const fromEnv = spec.env !== undefined ? env[spec.env] : undefined;
        let raw: unknown = fromFlag;
        let origin = `--${spec.flag}`;
        if (raw === undefined && fromEnv !== undefined && fromEnv !== "") {
          raw = spec.type === "boolean" ? parseBooleanEnv(fromEnv) : spec.multiple ? [fromEnv] : fromEnv;
          origin = `${spec.env}`;
        }
        const result = spec.schema.safeParse(raw);
        if (result.success) {
          values[key] = result.data;
        } else {
          const names = [`--${spec.flag}`, ...(spec.env ? [spec.env] : [])].join(" / ");
          const expected = result.error.issues.map((issue) => issue.message).join("; ");
          const got = raw === undefined ? "nothing" : JSON.stringify(raw);
          problems.push(
            `${names}: expected ${spec.description.replace(/\.$/, "")} (${expected}); got ${got} from ${raw === undefined ? "defaults" : origin}`,
          );
        }
      }
      if (problems.length > 0) {
        throw new ConfigError(`invalid configuration for ${definition.name}:\n  ${problems.join("\n  ")}`);
      }
      return { values: values as ParsedCli<O>, positionals: parsed.positionals };
    },
  };
}

function parseBooleanEnv(value: string): boolean | string {
  if (/^(1|true|yes|on)$/i.test(value)) return true;
  if (/^(0|false|no|off)$/i.test(value)) return false;
  return value; // left for the schema to reject with the variable's name
}

function helpText(definition: CliDefinition<Record<string, OptionSpec>>): string {
  const rows: Array<[string, string]> = [];
  for (const spec of Object.values(definition.options)) {
    const flag = `${spec.short ? `-${spec.short}, ` : "    "}--${spec.flag}${spec.type === "string" ? " <value>" : ""}`;
    const defaultValue = spec.defaultText ?? describeDefault(spec.schema);
    const details = [
      spec.description,
      spec.env ? `env ${spec.env}` : "",
      defaultValue ? `default ${defaultValue}` : "",
    ]
      .filter(Boolean)
      .join(". ");
    rows.push([flag, details]);
  }
  rows.push(["-h, --help", "Show this help and exit."], ["-V, --version", "Show the version and exit."]);
  const width = Math.max(...rows.map(([flag]) => flag.length)) + 2;
  const lines = [
    `${definition.name} ${definition.version}: ${definition.summary}`,
    "",
    `Usage: ${definition.usage ?? `${definition.name} [options]`}`,
    "",
    "Options:",
    ...rows.map(([flag, text]) => `  ${flag.padEnd(width)}${text}`),
  ];
  if (definition.epilog) lines.push("", definition.epilog.trim());
  return `${lines.join("\n")}\n`;
}

function describeDefault(schema: z.ZodType): string {
  const result = schema.safeParse(undefined);
  if (!result.success || result.data === undefined) return "";
  return typeof result.data === "string" ? result.data : JSON.stringify(result.data);
}
