/**
 * Processing pipelines, after pySigma's: an ordered list of transformations, each applied to
 * the rules whose log source it names, that map the field names rules use onto the event's own
 * field paths and add conditions (e.g. the EventID a log source stands for). The pipeline is
 * applied when a rule is compiled; nothing of it runs per event beyond reading the mapped path.
 */
import { readFile } from "node:fs/promises";
import { parse as parseYaml } from "yaml";
import { z } from "zod";
import { SigmaError } from "./errors.ts";
import type { SigmaLogsource } from "./logsource.ts";
import { logsourceMatches } from "./logsource.ts";

export interface LogsourceCondition {
  category?: string | undefined;
  product?: string | undefined;
  service?: string | undefined;
}

interface TransformationBase {
  id?: string | undefined;
  /** The rules it applies to, by log source; none means every rule. */
  ruleConditions?: readonly LogsourceCondition[] | undefined;
  /** With several rule conditions: must all ("and", the default) or any ("or") hold. */
  ruleConditionOp?: "and" | "or" | undefined;
  /** Field-name transformations only: the field names they apply to. */
  fieldNameConditions?: FieldNameCondition | undefined;
}

export interface FieldNameCondition {
  include?: readonly string[] | undefined;
  exclude?: readonly string[] | undefined;
  /** `plain` (default): exact names; `re`: regular expressions matched against the whole name. */
  mode?: "plain" | "re" | undefined;
}

export type PipelineTransformation = TransformationBase &
  (
    | { type: "field_name_mapping"; mapping: Readonly<Record<string, string | readonly string[]>> }
    | { type: "field_name_prefix_mapping"; mapping: Readonly<Record<string, string>> }
    | { type: "field_name_prefix"; prefix: string }
    | { type: "field_name_suffix"; suffix: string }
    /** Detection items (same syntax as a rule's search identifier) every applicable rule must also match. */
    | { type: "add_condition"; conditions: Readonly<Record<string, unknown>> }
    /** Changes the log source seen by the transformations after it (not the rule's own). */
    | {
        type: "change_logsource";
        category?: string | undefined;
        product?: string | undefined;
        service?: string | undefined;
      }
    /** Windows event log JSON (`Event.System`, `Event.EventData`, `Event.UserData`): see windowsPipeline. */
    | { type: "windows_event_fields" }
  );

export interface ProcessingPipeline {
  name: string;
  /** Pipelines run in ascending priority (pySigma's convention); equal priorities keep their order. */
  priority: number;
  transformations: readonly PipelineTransformation[];
  /** Values of `|expand` placeholders, by name. */
  vars: Readonly<Record<string, readonly string[]>>;
  /** Where the event time is, for correlation rules (an extension of the pySigma format). */
  timeField?: string | undefined;
}

const stringList = z
  .union([z.string(), z.array(z.string())])
  .transform((value) => (Array.isArray(value) ? value : [value]));
const scalar = z.union([z.string(), z.number(), z.boolean()]);

const logsourceConditionSchema = z.strictObject({
  type: z.literal("logsource"),
  category: z.string().optional(),
  product: z.string().optional(),
  service: z.string().optional(),
});

const fieldNameConditionSchema = z.strictObject({
  type: z.enum(["include_fields", "exclude_fields"]),
  fields: stringList,
  mode: z.enum(["plain", "re"]).optional(),
});

const common = {
  id: z.string().optional(),
  rule_conditions: z.array(logsourceConditionSchema).optional(),
  rule_cond_op: z.enum(["and", "or"]).optional(),
  field_name_conditions: z.array(fieldNameConditionSchema).optional(),
};

const transformationSchema = z.discriminatedUnion("type", [
  z.strictObject({
    ...common,
    type: z.literal("field_name_mapping"),
    mapping: z.record(z.string(), stringList),
  }),
  z.strictObject({
    ...common,
    type: z.literal("field_name_prefix_mapping"),
    mapping: z.record(z.string(), z.string()),
  }),
  z.strictObject({ ...common, type: z.literal("field_name_prefix"), prefix: z.string() }),
  z.strictObject({ ...common, type: z.literal("field_name_suffix"), suffix: z.string() }),
  z.strictObject({
    ...common,
    type: z.literal("add_condition"),
    conditions: z.record(z.string(), z.unknown()),
  }),
  z.strictObject({
    ...common,
    type: z.literal("change_logsource"),
    category: z.string().optional(),
    product: z.string().optional(),
    service: z.string().optional(),
  }),
  z.strictObject({ ...common, type: z.literal("windows_event_fields") }),
]);

const pipelineSchema = z.strictObject({
  name: z.string().min(1),
  priority: z.number().int().optional(),
  vars: z.record(z.string(), z.union([scalar, z.array(scalar)])).optional(),
  time_field: z.string().optional(),
  transformations: z.array(transformationSchema),
  // Output-side steps of conversion backends: nothing to do for an evaluator.
  postprocessing: z.unknown().optional(),
  finalizers: z.unknown().optional(),
  allowed_backends: z.unknown().optional(),
});

function zodIssues(error: z.ZodError): string {
  return error.issues
    .map((issue) => `${issue.path.length > 0 ? issue.path.join(".") : "(top)"}: ${issue.message}`)
    .join("; ");
}

/** Reads a pipeline in the YAML format described in the README. */
export function parsePipeline(text: string, file?: string): ProcessingPipeline {
  let document: unknown;
  try {
    document = parseYaml(text);
  } catch (error) {
    throw new SigmaError("pipeline", `invalid YAML: ${(error as Error).message}`, { file });
  }
  const parsed = pipelineSchema.safeParse(document);
  if (!parsed.success) throw new SigmaError("pipeline", zodIssues(parsed.error), { file });
  const raw = parsed.data;
  const transformations = raw.transformations.map((t, index): PipelineTransformation => {
    const base: TransformationBase = {
      id: t.id,
      ruleConditions: t.rule_conditions?.map(({ type: _type, ...condition }) => condition),
      ruleConditionOp: t.rule_cond_op,
      fieldNameConditions: t.field_name_conditions
        ? fieldConditions(t.field_name_conditions, file, index)
        : undefined,
    };
    switch (t.type) {
      case "field_name_mapping":
        return { ...base, type: t.type, mapping: t.mapping };
      case "field_name_prefix_mapping":
        return { ...base, type: t.type, mapping: t.mapping };
      case "field_name_prefix":
        return { ...base, type: t.type, prefix: t.prefix };
      case "field_name_suffix":
        return { ...base, type: t.type, suffix: t.suffix };
      case "add_condition":
        return { ...base, type: t.type, conditions: t.conditions };
      case "change_logsource":
        return { ...base, type: t.type, category: t.category, product: t.product, service: t.service };
      case "windows_event_fields":
        return { ...base, type: t.type };
    }
    throw new SigmaError("pipeline", "unknown transformation type", {
      file,
      key: `transformations[${index}]`,
    });
  });
  const vars: Record<string, string[]> = {};
  for (const [name, value] of Object.entries(raw.vars ?? {})) {
    vars[name] = (Array.isArray(value) ? value : [value]).map(String);
  }
  return { name: raw.name, priority: raw.priority ?? 0, transformations, vars, timeField: raw.time_field };
}

function fieldConditions(
  conditions: readonly z.infer<typeof fieldNameConditionSchema>[],
  file: string | undefined,
  index: number,
): FieldNameCondition {
  const include = conditions.filter((c) => c.type === "include_fields").flatMap((c) => c.fields);
  const exclude = conditions.filter((c) => c.type === "exclude_fields").flatMap((c) => c.fields);
  const modes = new Set(conditions.map((c) => c.mode ?? "plain"));
  if (modes.size > 1) {
    throw new SigmaError("pipeline", "field_name_conditions of one transformation must share one mode", {
      file,
      key: `transformations[${index}].field_name_conditions`,
    });
  }
  return {
    include: include.length > 0 ? include : undefined,
    exclude: exclude.length > 0 ? exclude : undefined,
    mode: [...modes][0] ?? "plain",
  };
}

/** A pipeline from a YAML file, or the built-in `windows` pipeline by that name. */
export async function loadPipeline(pathOrName: string): Promise<ProcessingPipeline> {
  if (pathOrName === "windows") return windowsPipeline();
  let text: string;
  try {
    text = await readFile(pathOrName, "utf8");
  } catch (error) {
    throw new SigmaError("io", `cannot read the pipeline: ${(error as Error).message}`, { file: pathOrName });
  }
  return parsePipeline(text, pathOrName);
}

// System fields Sigma's Windows rules name, and where Windows event JSON keeps them.
const windowsSystemFields: Record<string, string> = {
  EventID: "Event.System.EventID",
  Provider_Name: "Event.System.Provider.#attributes.Name",
  Provider_Guid: "Event.System.Provider.#attributes.Guid",
  Channel: "Event.System.Channel",
  Computer: "Event.System.Computer",
  Security_UserID: "Event.System.Security.#attributes.UserID",
  TimeCreated: "Event.System.TimeCreated.#attributes.SystemTime",
  Correlation_ActivityID: "Event.System.Correlation.#attributes.ActivityID",
  Execution_ProcessID: "Event.System.Execution.#attributes.ProcessID",
  Execution_ThreadID: "Event.System.Execution.#attributes.ThreadID",
};
// System fields whose names event data also uses (Sysmon's status event has a `Version`):
// the event data wins.
const windowsSecondarySystemFields = ["Version", "Level", "Task", "Opcode", "Keywords", "EventRecordID"];

/**
 * Candidate paths of a Sigma Windows field name in Windows event JSON (the last one: the name
 * itself, for flat events). Event data names match with or without spaces (`SourceName` reads
 * Defender's `Source Name`), as Sigma's Windows rules write them.
 */
export function windowsFieldPaths(name: string): string[] {
  const system = windowsSystemFields[name];
  if (system) return [system, name];
  const data = [`Event.EventData.~${name}`, `Event.UserData.*.~${name}`];
  if (windowsSecondarySystemFields.includes(name)) return [...data, `Event.System.${name}`, name];
  return [...data, name];
}

// Sysmon event ids by Sigma category (as pySigma's sysmon pipeline maps them).
const sysmonCategories: Record<string, number[]> = {
  process_creation: [1],
  file_change: [2],
  network_connection: [3],
  sysmon_status: [4, 16],
  process_termination: [5],
  driver_load: [6],
  image_load: [7],
  create_remote_thread: [8],
  raw_access_thread: [9],
  process_access: [10],
  file_event: [11],
  registry_add: [12],
  registry_delete: [12],
  registry_set: [13],
  registry_rename: [14],
  registry_event: [12, 13, 14],
  create_stream_hash: [15],
  pipe_created: [17, 18],
  wmi_event: [19, 20, 21],
  dns_query: [22],
  file_delete: [23, 26],
  clipboard_capture: [24],
  process_tampering: [25],
  file_delete_detected: [26],
  file_block_executable: [27],
  file_block_shredding: [28],
  file_executable_detected: [29],
  sysmon_error: [255],
};

const powershellChannels = ["Microsoft-Windows-PowerShell/Operational", "PowerShellCore/Operational"];
const powershellCategories: Record<string, Record<string, unknown>> = {
  ps_module: { Channel: powershellChannels, EventID: 4103 },
  ps_script: { Channel: powershellChannels, EventID: 4104 },
  ps_classic_start: { Channel: "Windows PowerShell", EventID: 400 },
  ps_classic_provider_start: { Channel: "Windows PowerShell", EventID: 600 },
  ps_classic_script: { Channel: "Windows PowerShell", EventID: 800 },
};

// Event log channels of Sigma's Windows services.
const windowsServiceChannels: Record<string, string | string[]> = {
  security: "Security",
  system: "System",
  application: "Application",
  sysmon: "Microsoft-Windows-Sysmon/Operational",
  powershell: powershellChannels,
  "powershell-classic": "Windows PowerShell",
  taskscheduler: "Microsoft-Windows-TaskScheduler/Operational",
  wmi: "Microsoft-Windows-WMI-Activity/Operational",
  windefend: "Microsoft-Windows-Windows Defender/Operational",
  "codeintegrity-operational": "Microsoft-Windows-CodeIntegrity/Operational",
  "bits-client": "Microsoft-Windows-Bits-Client/Operational",
  ntlm: "Microsoft-Windows-NTLM/Operational",
  "firewall-as": "Microsoft-Windows-Windows Firewall With Advanced Security/Firewall",
  "dns-client": "Microsoft-Windows-DNS Client Events/Operational",
  "dns-server": "DNS Server",
  "driver-framework": "Microsoft-Windows-DriverFrameworks-UserMode/Operational",
  applocker: [
    "Microsoft-Windows-AppLocker/MSI and Script",
    "Microsoft-Windows-AppLocker/EXE and DLL",
    "Microsoft-Windows-AppLocker/Packaged app-Deployment",
    "Microsoft-Windows-AppLocker/Packaged app-Execution",
  ],
  "printservice-admin": "Microsoft-Windows-PrintService/Admin",
  "printservice-operational": "Microsoft-Windows-PrintService/Operational",
  "smbclient-security": "Microsoft-Windows-SmbClient/Security",
  "smbclient-connectivity": "Microsoft-Windows-SmbClient/Connectivity",
  "terminalservices-localsessionmanager":
    "Microsoft-Windows-TerminalServices-LocalSessionManager/Operational",
  openssh: "OpenSSH/Operational",
  "appxdeployment-server": "Microsoft-Windows-AppXDeploymentServer/Operational",
  "lsa-server": "Microsoft-Windows-LSA/Operational",
  capi2: "Microsoft-Windows-CAPI2/Operational",
  "diagnosis-scripted": "Microsoft-Windows-Diagnosis-Scripted/Operational",
  "shell-core": "Microsoft-Windows-Shell-Core/Operational",
  bitlocker: "Microsoft-Windows-BitLocker/BitLocker Management",
  "msexchange-management": "MSExchange Management",
};

export interface WindowsPipelineOptions {
  /**
   * Add the conditions a Windows log source stands for: the Sysmon event ids of a category
   * (provider Microsoft-Windows-Sysmon), the PowerShell channels and ids, the channel of a
   * service. Default true: without them a process_creation rule also matches, say, a file
   * event of the same image. Log sources not listed here get no condition.
   */
  logsourceConditions?: boolean;
}

/**
 * Windows event log JSON as evtx tools render it: fields under `Event.System` (EventID,
 * Provider_Name, Channel, Computer, Security_UserID, ...) and `Event.EventData` (each data item
 * by name), or `Event.UserData.<element>` for events that use it.
 */
export function windowsPipeline(options: WindowsPipelineOptions = {}): ProcessingPipeline {
  const transformations: PipelineTransformation[] = [];
  if (options.logsourceConditions ?? true) {
    for (const [category, ids] of Object.entries(sysmonCategories)) {
      transformations.push({
        id: `sysmon_${category}`,
        type: "add_condition",
        conditions: { Provider_Name: "Microsoft-Windows-Sysmon", EventID: ids },
        ruleConditions: [{ product: "windows", category }],
      });
    }
    for (const [category, conditions] of Object.entries(powershellCategories)) {
      transformations.push({
        id: `powershell_${category}`,
        type: "add_condition",
        conditions,
        ruleConditions: [{ product: "windows", category }],
      });
    }
    for (const [service, channel] of Object.entries(windowsServiceChannels)) {
      transformations.push({
        id: `channel_${service}`,
        type: "add_condition",
        conditions: { Channel: channel },
        ruleConditions: [{ product: "windows", service }],
      });
    }
  }
  transformations.push({ id: "windows_event_fields", type: "windows_event_fields" });
  return {
    name: "windows",
    priority: 0,
    transformations,
    vars: {},
    timeField: "Event.System.TimeCreated.#attributes.SystemTime",
  };
}

/** What a set of pipelines means for one rule: where its fields are and what it must also match. */
export interface AppliedPipelines {
  fieldPaths(name: string): string[];
  addedConditions: readonly {
    id: string;
    conditions: Readonly<Record<string, unknown>>;
    fieldPaths(name: string): string[];
  }[];
  placeholders: Readonly<Record<string, readonly string[]>>;
}

function conditionHolds(transformation: PipelineTransformation, logsource: SigmaLogsource): boolean {
  const conditions = transformation.ruleConditions ?? [];
  if (conditions.length === 0) return true;
  const results = conditions.map((condition) => logsourceMatches(logsource, condition));
  return transformation.ruleConditionOp === "or" ? results.some(Boolean) : results.every(Boolean);
}

function fieldSelected(condition: FieldNameCondition | undefined, name: string): boolean {
  if (!condition) return true;
  const test =
    condition.mode === "re"
      ? (patterns: readonly string[]) => patterns.some((pattern) => new RegExp(`^(?:${pattern})$`).test(name))
      : (names: readonly string[]) => names.includes(name);
  if (condition.include && !test(condition.include)) return false;
  if (condition.exclude && test(condition.exclude)) return false;
  return true;
}

function mapFieldName(transformation: PipelineTransformation, name: string): string[] {
  if (!fieldSelected(transformation.fieldNameConditions, name)) return [name];
  switch (transformation.type) {
    case "field_name_mapping": {
      const target = transformation.mapping[name];
      if (target === undefined) return [name];
      return typeof target === "string" ? [target] : [...target];
    }
    case "field_name_prefix_mapping": {
      for (const [prefix, replacement] of Object.entries(transformation.mapping)) {
        if (name.startsWith(prefix)) return [replacement + name.slice(prefix.length)];
      }
      return [name];
    }
    case "field_name_prefix":
      return [transformation.prefix + name];
    case "field_name_suffix":
      return [name + transformation.suffix];
    case "windows_event_fields":
      return windowsFieldPaths(name);
    default:
      return [name];
  }
}

export function sortPipelines(pipelines: readonly ProcessingPipeline[]): ProcessingPipeline[] {
  return pipelines
    .map((pipeline, order) => ({ pipeline, order }))
    .sort((a, b) => a.pipeline.priority - b.pipeline.priority || a.order - b.order)
    .map(({ pipeline }) => pipeline);
}

/** Applies pipelines (already sorted) to a rule with this log source. */
export function applyPipelines(
  pipelines: readonly ProcessingPipeline[],
  logsource: SigmaLogsource,
): AppliedPipelines {
  const applicable: PipelineTransformation[] = [];
  const added: { id: string; conditions: Readonly<Record<string, unknown>>; from: number }[] = [];
  const placeholders: Record<string, readonly string[]> = {};
  let current: SigmaLogsource = { ...logsource };
  for (const pipeline of pipelines) {
    Object.assign(placeholders, pipeline.vars);
    pipeline.transformations.forEach((transformation, index) => {
      if (!conditionHolds(transformation, current)) return;
      if (transformation.type === "change_logsource") {
        current = {
          ...current,
          ...(transformation.category !== undefined ? { category: transformation.category } : {}),
          ...(transformation.product !== undefined ? { product: transformation.product } : {}),
          ...(transformation.service !== undefined ? { service: transformation.service } : {}),
        };
      } else if (transformation.type === "add_condition") {
        added.push({
          id: transformation.id ?? `${pipeline.name}[${index}]`,
          conditions: transformation.conditions,
          from: applicable.length,
        });
      } else {
        applicable.push(transformation);
      }
    });
  }
  const pathsFrom = (from: number) => {
    const cache = new Map<string, string[]>();
    return (name: string): string[] => {
      const cached = cache.get(name);
      if (cached) return cached;
      let names = [name];
      for (let index = from; index < applicable.length; index++) {
        const transformation = applicable[index]!;
        names = names.flatMap((candidate) => mapFieldName(transformation, candidate));
      }
      const unique = [...new Set(names)];
      cache.set(name, unique);
      return unique;
    };
  };
  return {
    fieldPaths: pathsFrom(0),
    addedConditions: added.map(({ id, conditions, from }) => ({
      id,
      conditions,
      fieldPaths: pathsFrom(from),
    })),
    placeholders,
  };
}
