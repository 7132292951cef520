import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { SigmaError } from "./errors.ts";
import { parseSigmaRules } from "./loader.ts";
import { loadPipeline, parsePipeline, windowsFieldPaths, windowsPipeline } from "./pipeline.ts";

function rule(logsource: string, detection: string): string {
  return `title: t\nid: r1\nlogsource: ${logsource}\ndetection:\n${detection
    .split("\n")
    .map((line) => `  ${line}`)
    .join("\n")}\n`;
}

const sysmonProcess = {
  Event: {
    "#attributes": { xmlns: "http://schemas.microsoft.com/win/2004/08/events/event" },
    System: {
      Provider: {
        "#attributes": { Name: "Microsoft-Windows-Sysmon", Guid: "5770385F-C22A-43E0-BF4C-06F5698FFBD9" },
      },
      EventID: 1,
      Version: 5,
      Channel: "Microsoft-Windows-Sysmon/Operational",
      Computer: "ws1.corp",
      Security: { "#attributes": { UserID: "S-1-5-18" } },
      TimeCreated: { "#attributes": { SystemTime: "2025-10-22T20:33:27.276702Z" } },
    },
    EventData: { Image: "C:\\Windows\\System32\\sc.exe", CommandLine: "sc stop mpssvc", User: "CORP\\bob" },
  },
};
const sysmonFile = {
  Event: {
    System: { ...sysmonProcess.Event.System, EventID: 11 },
    EventData: { Image: "C:\\Windows\\System32\\sc.exe", TargetFilename: "C:\\x.dll" },
  },
};
const defender = {
  Event: {
    System: {
      Provider: { "#attributes": { Name: "Microsoft-Windows-Windows Defender" } },
      EventID: 1119,
      Channel: "Microsoft-Windows-Windows Defender/Operational",
    },
    EventData: { "Threat Name": "Virus:DOS/EICAR_Test_File", "Source Name": "Real-Time Protection" },
  },
};
const wmi = {
  Event: {
    System: { EventID: 5858, Channel: "Microsoft-Windows-WMI-Activity/Operational" },
    UserData: { Operation_ClientFailure: { User: "host\\eve", Operation: "ExecMethod cleareventlog" } },
  },
};

describe("windows pipeline", () => {
  const pipelines = [windowsPipeline()];

  it("maps system fields and event data", () => {
    const text = rule(
      "{product: windows, category: process_creation}",
      "sel:\n  EventID: 1\n  Provider_Name: Microsoft-Windows-Sysmon\n  Computer|endswith: .corp\n  Security_UserID: S-1-5-18\n  Image|endswith: '\\sc.exe'\n  CommandLine|contains: stop\ncondition: sel",
    );
    const [compiled] = parseSigmaRules(text, { pipelines }).rules;
    expect(compiled?.match(sysmonProcess)).toBe(true);
  });

  it("adds the log source's conditions: a process_creation rule ignores a file event of the same image", () => {
    const text = rule(
      "{product: windows, category: process_creation}",
      "sel:\n  Image|endswith: '\\sc.exe'\ncondition: sel",
    );
    const [withConditions] = parseSigmaRules(text, { pipelines }).rules;
    expect(withConditions?.match(sysmonProcess)).toBe(true);
    expect(withConditions?.match(sysmonFile)).toBe(false);
    const [without] = parseSigmaRules(text, {
      pipelines: [windowsPipeline({ logsourceConditions: false })],
    }).rules;
    expect(without?.match(sysmonFile)).toBe(true);
  });

  it("a service stands for its channel", () => {
    const text = rule(
      "{product: windows, service: windefend}",
      "sel:\n  EventID: 1119\n  ThreatName|contains: EICAR\n  SourceName: Real-Time Protection\ncondition: sel",
    );
    const [compiled] = parseSigmaRules(text, { pipelines }).rules;
    expect(compiled?.match(defender)).toBe(true);
    expect(
      compiled?.match({
        Event: { ...defender.Event, System: { ...defender.Event.System, Channel: "System" } },
      }),
    ).toBe(false);
  });

  it("reads UserData fields and flat events", () => {
    const text = rule(
      "{product: windows, service: wmi}",
      "sel:\n  User: 'host\\eve'\n  Operation|contains: cleareventlog\ncondition: sel",
    );
    const [compiled] = parseSigmaRules(text, { pipelines }).rules;
    expect(compiled?.match(wmi)).toBe(true);
    const flat = rule("{product: windows}", "sel:\n  EventID: 4624\n  TargetUserName: bob\ncondition: sel");
    expect(
      parseSigmaRules(flat, { pipelines }).rules[0]?.match({ EventID: 4624, TargetUserName: "bob" }),
    ).toBe(true);
  });

  it("null matches a field the event data lacks", () => {
    const text = rule(
      "{product: windows, category: process_creation}",
      "sel:\n  ParentUser: null\ncondition: sel",
    );
    expect(parseSigmaRules(text, { pipelines }).rules[0]?.match(sysmonProcess)).toBe(true);
  });

  it("prefers event data over the system for names both use", () => {
    expect(windowsFieldPaths("Version")[0]).toBe("Event.EventData.~Version");
    expect(windowsFieldPaths("EventID")[0]).toBe("Event.System.EventID");
    expect(windowsPipeline().timeField).toBe("Event.System.TimeCreated.#attributes.SystemTime");
  });
});

describe("YAML pipelines", () => {
  const ecs = parsePipeline(`
name: ecs-like
priority: 10
vars:
  admins: [root, admin]
time_field: "@timestamp"
transformations:
  - id: process_fields
    type: field_name_mapping
    mapping:
      Image: process.executable
      CommandLine: [process.command_line, process.args_text]
    rule_conditions:
      - type: logsource
        category: process_creation
  - type: field_name_prefix_mapping
    mapping:
      "src_": "source."
  - type: add_condition
    conditions:
      event.category: process
    rule_conditions:
      - type: logsource
        category: process_creation
  - type: field_name_prefix
    prefix: "winlog."
    field_name_conditions:
      - type: include_fields
        fields: [EventID]
`);

  it("parses what it declares", () => {
    expect(ecs).toMatchObject({
      name: "ecs-like",
      priority: 10,
      vars: { admins: ["root", "admin"] },
      timeField: "@timestamp",
    });
    expect(ecs.transformations).toHaveLength(4);
  });

  it("maps names, prefixes, and adds conditions for the rules it names", () => {
    const text = rule(
      "{product: linux, category: process_creation}",
      "sel:\n  Image|endswith: /bash\n  CommandLine|contains: '-c'\n  src_ip|cidr: 10.0.0.0/8\n  EventID: 1\n  user|expand: '%admins%'\ncondition: sel",
    );
    const set = parseSigmaRules(text, { pipelines: [ecs] });
    expect(set.failures).toEqual([]);
    const compiled = set.rules[0]!;
    const event = {
      event: { category: "process" },
      process: { executable: "/bin/bash", args_text: "bash -c id" },
      source: { ip: "10.1.1.1" },
      winlog: { EventID: 1 },
      user: "root",
    };
    expect(compiled.match(event)).toBe(true);
    expect(compiled.match({ ...event, event: { category: "network" } })).toBe(false);
    expect(compiled.match({ ...event, user: "bob" })).toBe(false);
    // First present candidate: process.command_line wins when both exist.
    expect(compiled.match({ ...event, process: { ...event.process, command_line: "bash script.sh" } })).toBe(
      false,
    );
  });

  it("leaves rules of other log sources unmapped", () => {
    const text = rule(
      "{product: linux, category: network_connection}",
      "sel:\n  Image: /bin/nc\ncondition: sel",
    );
    const compiled = parseSigmaRules(text, { pipelines: [ecs] }).rules[0]!;
    expect(compiled.match({ Image: "/bin/nc" })).toBe(true);
  });

  it("change_logsource affects the transformations after it", () => {
    const pipeline = parsePipeline(`
name: change
transformations:
  - type: change_logsource
    service: sysmon
    rule_conditions: [{type: logsource, category: process_creation}]
  - type: add_condition
    conditions: {source: sysmon}
    rule_conditions: [{type: logsource, service: sysmon}]
`);
    const text = rule("{product: windows, category: process_creation}", "sel:\n  Image: a\ncondition: sel");
    const compiled = parseSigmaRules(text, { pipelines: [pipeline] }).rules[0]!;
    expect(compiled.match({ Image: "a", source: "sysmon" })).toBe(true);
    expect(compiled.match({ Image: "a" })).toBe(false);
    expect(compiled.logsource.service).toBeUndefined();
  });

  it("runs pipelines by ascending priority", () => {
    const first = parsePipeline(
      "name: a\npriority: 1\ntransformations:\n  - {type: field_name_mapping, mapping: {x: y}}\n",
    );
    const second = parsePipeline(
      "name: b\npriority: 2\ntransformations:\n  - {type: field_name_mapping, mapping: {y: z}}\n",
    );
    const text = rule("{product: p}", "sel:\n  x: 1\ncondition: sel");
    for (const order of [
      [first, second],
      [second, first],
    ]) {
      expect(parseSigmaRules(text, { pipelines: order }).rules[0]?.match({ z: 1 })).toBe(true);
    }
  });

  it("reports an invalid pipeline with the key", () => {
    expect(() =>
      parsePipeline("name: bad\ntransformations:\n  - type: drop_everything\n", "bad.yml"),
    ).toThrow(SigmaError);
    expect(() =>
      parsePipeline(
        "name: bad\ntransformations:\n  - type: field_name_mapping\n    mapping: {a: 1}\n",
        "bad.yml",
      ),
    ).toThrow(/bad\.yml: transformations\.0\.mapping\.a/);
    expect(() => parsePipeline("name: [oops", "broken.yml")).toThrow(/broken\.yml: invalid YAML/);
  });

  it("loads from a file or by the name windows", async () => {
    const folder = await mkdtemp(path.join(tmpdir(), "sigma-pipeline-"));
    try {
      const file = path.join(folder, "p.yml");
      await writeFile(file, "name: from-file\ntransformations: []\n");
      expect((await loadPipeline(file)).name).toBe("from-file");
      expect((await loadPipeline("windows")).name).toBe("windows");
      await expect(loadPipeline(path.join(folder, "missing.yml"))).rejects.toMatchObject({ code: "io" });
    } finally {
      await rm(folder, { recursive: true, force: true });
    }
  });
});
