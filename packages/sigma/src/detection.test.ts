import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { SigmaError } from "./errors.ts";
import type { SigmaEvent } from "./fields.ts";
import { type CompileOptions, compileSigmaRule, type SigmaRule } from "./rule.ts";

function ruleFrom(detectionYaml: string, options: CompileOptions = {}): SigmaRule {
  return compileSigmaRule(
    {
      title: "test",
      id: "rule-1",
      logsource: { product: "test" },
      detection: parse(detectionYaml) as unknown,
    },
    { file: "test.yml" },
    options,
  );
}

/** The indexes of the events the detection matches. */
function matching(
  detectionYaml: string,
  events: readonly SigmaEvent[],
  options: CompileOptions = {},
): number[] {
  const rule = ruleFrom(detectionYaml, options);
  return events.flatMap((event, index) => (rule.match(event) ? [index] : []));
}

function compileError(detectionYaml: string, options: CompileOptions = {}): SigmaError {
  try {
    ruleFrom(detectionYaml, options);
  } catch (error) {
    if (error instanceof SigmaError) return error;
    throw error;
  }
  throw new Error("expected the rule to be rejected");
}

describe("plain values", () => {
  it("compares strings case-insensitively by default", () => {
    const events = [
      { Image: "C:\\Windows\\CMD.EXE" },
      { Image: "c:\\windows\\cmd.exe" },
      { Image: "cmd.exe" },
    ];
    expect(matching("sel:\n  Image: 'C:\\Windows\\cmd.exe'\ncondition: sel", events)).toEqual([0, 1]);
  });

  it("reads a list of values as any of them", () => {
    const events = [{ User: "alice" }, { User: "bob" }, { User: "carol" }];
    expect(matching("sel:\n  User: [alice, carol]\ncondition: sel", events)).toEqual([0, 2]);
  });

  it("requires every field of a map and any map of a list", () => {
    const events = [
      { a: "1", b: "2" },
      { a: "1", b: "3" },
      { a: "9", c: "x" },
    ];
    expect(matching("sel:\n  a: '1'\n  b: '2'\ncondition: sel", events)).toEqual([0]);
    expect(matching("sel:\n  - a: '1'\n    b: '2'\n  - c: x\ncondition: sel", events)).toEqual([0, 2]);
  });

  it("matches numbers against numbers and numeric text", () => {
    const events = [{ EventID: 4688 }, { EventID: "4688" }, { EventID: 46880 }, { EventID: " 4688 " }];
    expect(matching("sel:\n  EventID: 4688\ncondition: sel", events)).toEqual([0, 1, 3]);
    expect(matching("sel:\n  EventID: '4688'\ncondition: sel", events)).toEqual([0, 1]);
  });

  it("matches booleans against booleans and their text", () => {
    const events = [{ Signed: true }, { Signed: "TRUE" }, { Signed: false }, {}];
    expect(matching("sel:\n  Signed: true\ncondition: sel", events)).toEqual([0, 1]);
    expect(matching("sel:\n  Signed: false\ncondition: sel", events)).toEqual([2]);
  });

  it("matches any element of an array field", () => {
    const events = [{ tags: ["a", "b"] }, { tags: ["c"] }, { tags: [] }];
    expect(matching("sel:\n  tags: b\ncondition: sel", events)).toEqual([0]);
    expect(matching("sel:\n  tags|all: [a, b]\ncondition: sel", events)).toEqual([0]);
  });

  it("reads dotted paths through nested objects, and dotted keys of flat events", () => {
    const events = [
      { userIdentity: { arn: "arn:aws:iam::1:user/x" } },
      { "userIdentity.arn": "arn:aws:iam::1:user/x" },
      {},
    ];
    expect(matching("sel:\n  userIdentity.arn|startswith: 'arn:aws'\ncondition: sel", events)).toEqual([
      0, 1,
    ]);
  });

  it("reads an XML element's text beside its attributes", () => {
    const events = [{ EventID: { "#text": 4624, "#attributes": { Qualifiers: 0 } } }];
    expect(matching("sel:\n  EventID: 4624\ncondition: sel", events)).toEqual([0]);
  });
});

describe("null and exists", () => {
  const events = [{ CommandLine: null }, {}, { CommandLine: "" }, { CommandLine: "x" }];

  it("null matches a missing or null field, not an empty string", () => {
    expect(matching("sel:\n  CommandLine: null\ncondition: sel", events)).toEqual([0, 1]);
    expect(matching("sel:\n  CommandLine: ''\ncondition: sel", events)).toEqual([2]);
    expect(matching("sel:\n  CommandLine: null\ncondition: not sel", events)).toEqual([2, 3]);
  });

  it("exists tests presence", () => {
    expect(matching("sel:\n  CommandLine|exists: true\ncondition: sel", events)).toEqual([2, 3]);
    expect(matching("sel:\n  CommandLine|exists: false\ncondition: sel", events)).toEqual([0, 1]);
  });

  it("exists takes a boolean", () => {
    expect(compileError("sel:\n  CommandLine|exists: yes\ncondition: sel").code).toBe("invalid-modifier-use");
  });
});

describe("wildcards and escaping", () => {
  const events = [
    { v: "abc" },
    { v: "a*c" },
    { v: "a?c" },
    { v: "a\\c" },
    { v: "ac" },
    { v: "a\\\\c" },
    { v: "axxc" },
  ];

  it("* matches any run, ? exactly one character", () => {
    expect(matching("sel:\n  v: 'a*c'\ncondition: sel", events)).toEqual([0, 1, 2, 3, 4, 5, 6]);
    expect(matching("sel:\n  v: 'a?c'\ncondition: sel", events)).toEqual([0, 1, 2, 3]);
    expect(matching("sel:\n  v: '*x*'\ncondition: sel", events)).toEqual([6]);
  });

  it("\\* and \\? are literal, \\\\ is one backslash, a lone backslash is literal", () => {
    expect(matching("sel:\n  v: 'a\\*c'\ncondition: sel", events)).toEqual([1]);
    expect(matching("sel:\n  v: 'a\\?c'\ncondition: sel", events)).toEqual([2]);
    expect(matching("sel:\n  v: 'a\\\\c'\ncondition: sel", events)).toEqual([3]);
    expect(matching("sel:\n  v: 'a\\\\\\\\c'\ncondition: sel", events)).toEqual([5]);
    expect(matching("sel:\n  v: 'a\\c'\ncondition: sel", events)).toEqual([3]);
  });

  it("a backslash before a wildcard can itself be escaped", () => {
    // `\\*`: a literal backslash, then a wildcard.
    expect(matching("sel:\n  v: 'a\\\\*'\ncondition: sel", events)).toEqual([3, 5]);
  });

  it("handles wildcards between fixed segments without backtracking blow-up", () => {
    const long = `${"a".repeat(20_000)}b`;
    expect(matching("sel:\n  v: '*a*a*a*a*a*a*c'\ncondition: sel", [{ v: long }])).toEqual([]);
    expect(matching("sel:\n  v: '*a?a*b'\ncondition: sel", [{ v: long }])).toEqual([0]);
  });
});

describe("contains, startswith, endswith, all, cased", () => {
  const events = [{ c: "powershell -enc AAAA" }, { c: "POWERSHELL.exe -nop" }, { c: "cmd /c whoami" }];

  it("positions the value", () => {
    expect(matching("sel:\n  c|contains: ' -enc '\ncondition: sel", events)).toEqual([0]);
    expect(matching("sel:\n  c|startswith: powershell\ncondition: sel", events)).toEqual([0, 1]);
    expect(matching("sel:\n  c|endswith: whoami\ncondition: sel", events)).toEqual([2]);
  });

  it("all requires every value", () => {
    expect(matching("sel:\n  c|contains|all: [powershell, '-nop']\ncondition: sel", events)).toEqual([1]);
    expect(matching("sel:\n  c|contains: [powershell, '-nop']\ncondition: sel", events)).toEqual([0, 1]);
  });

  it("cased compares case-sensitively", () => {
    expect(matching("sel:\n  c|contains|cased: POWERSHELL\ncondition: sel", events)).toEqual([1]);
    expect(matching("sel:\n  c|cased: cmd /c whoami\ncondition: sel", events)).toEqual([2]);
  });

  it("keeps wildcards inside positioned values", () => {
    expect(matching("sel:\n  c|contains: 'shell*-n?p'\ncondition: sel", events)).toEqual([1]);
  });

  it("rejects two positions", () => {
    expect(compileError("sel:\n  c|contains|endswith: x\ncondition: sel").code).toBe("invalid-modifier-use");
  });
});

describe("encodings", () => {
  const b64 = (text: string, encoding: BufferEncoding = "utf8") =>
    Buffer.from(text, encoding).toString("base64");

  it("base64 matches the encoded value", () => {
    const events = [{ v: b64("http://evil") }, { v: b64("http://good") }];
    expect(matching("sel:\n  v: http://evil\ncondition: sel", events)).toEqual([]);
    expect(matching("sel:\n  v|base64: http://evil\ncondition: sel", events)).toEqual([0]);
  });

  it("base64offset finds the value at every offset inside a larger encoded text", () => {
    const events = ["", "x", "xy", "xyz"].map((prefix) => ({ v: b64(`${prefix}Invoke-Mimikatz -dump`) }));
    events.push({ v: b64("Invoke-Something") });
    expect(matching("sel:\n  v|base64offset|contains: Invoke-Mimikatz\ncondition: sel", events)).toEqual([
      0, 1, 2, 3,
    ]);
  });

  it("utf16le / wide, utf16be and utf16 encode before base64", () => {
    const command = "IEX (New-Object Net.WebClient)";
    const events = [
      { v: `powershell -enc ${b64(command, "utf16le")}` },
      { v: b64(`\ufeff${command}`, "utf16le") },
      { v: Buffer.from(command, "utf16le").swap16().toString("base64") },
    ];
    // At an odd byte offset UTF-16LE text reads as UTF-16BE: base64offset of either finds both.
    expect(
      matching("sel:\n  v|wide|base64offset|contains: 'IEX (New-Object'\ncondition: sel", events),
    ).toEqual([0, 1, 2]);
    expect(
      matching("sel:\n  v|utf16le|base64|contains: 'IEX (New-Object Net.WebClient)'\ncondition: sel", events),
    ).toEqual([0]);
    expect(
      matching("sel:\n  v|utf16be|base64: 'IEX (New-Object Net.WebClient)'\ncondition: sel", events),
    ).toEqual([2]);
    expect(
      matching("sel:\n  v|utf16|base64: 'IEX (New-Object Net.WebClient)'\ncondition: sel", events),
    ).toEqual([1]);
  });

  it("base64 refuses wildcards", () => {
    const error = compileError("sel:\n  v|base64: 'a*b'\ncondition: sel");
    expect(error.code).toBe("invalid-modifier-use");
    expect(error.key).toBe("detection.sel.v|base64");
  });

  it("windash tries every dash and slash form of a flag", () => {
    const events = ["-enc", "/enc", "\u2013enc", "\u2014enc", "\u2015enc", "+enc", "x-enc"].map((flag) => ({
      c: `powershell ${flag} AAA`,
    }));
    expect(matching("sel:\n  c|windash|contains: ' -enc '\ncondition: sel", events)).toEqual([0, 1, 2, 3, 4]);
    expect(matching("sel:\n  c|contains|windash: ' -enc '\ncondition: sel", events)).toEqual([0, 1, 2, 3, 4]);
  });

  it("refuses a value whose windash variants would explode", () => {
    const error = compileError(
      `sel:\n  c|windash|contains: '${Array.from({ length: 8 }, (_, i) => `-f${i}`).join(" ")}'\ncondition: sel`,
    );
    expect(error.code).toBe("invalid-modifier-use");
    expect(error.message).toContain("390625 variants");
  });

  it("windash expands several flags together", () => {
    const events = [{ c: "x -a /b" }, { c: "x /a -b" }, { c: "x -a +b" }];
    expect(matching("sel:\n  c|windash|contains: '-a -b'\ncondition: sel", events)).toEqual([0, 1]);
  });
});

describe("regular expressions", () => {
  const events = [{ v: "Hello World" }, { v: "hello\nworld" }, { v: "HELLO" }];

  it("re searches anywhere, case-sensitively unless i", () => {
    expect(matching("sel:\n  v|re: 'o W'\ncondition: sel", events)).toEqual([0]);
    expect(matching("sel:\n  v|re: '^hello'\ncondition: sel", events)).toEqual([1]);
    expect(matching("sel:\n  v|re|i: '^hello'\ncondition: sel", events)).toEqual([0, 1, 2]);
  });

  it("m makes ^ and $ match at line ends, s lets . match a newline", () => {
    expect(matching("sel:\n  v|re: '^world'\ncondition: sel", events)).toEqual([]);
    expect(matching("sel:\n  v|re|m: '^world'\ncondition: sel", events)).toEqual([1]);
    expect(matching("sel:\n  v|re: 'hello.world'\ncondition: sel", events)).toEqual([]);
    expect(matching("sel:\n  v|re|s: 'hello.world'\ncondition: sel", events)).toEqual([1]);
    expect(matching("sel:\n  v|re|i|s: 'HELLO.WORLD'\ncondition: sel", events)).toEqual([0, 1]);
  });

  it("stays linear on hostile input", () => {
    const hostile = `${"a".repeat(50_000)}!`;
    expect(matching("sel:\n  v|re: '(a+)+$'\ncondition: sel", [{ v: hostile }])).toEqual([]);
    expect(matching("sel:\n  v|re: '(a+)+!$'\ncondition: sel", [{ v: hostile }])).toEqual([0]);
    expect(matching("sel:\n  v|re: '^(a+)+$'\ncondition: sel", [{ v: hostile }])).toEqual([]);
    expect(matching("sel:\n  v|re: '(a|aa)*c'\ncondition: sel", [{ v: hostile }])).toEqual([]);
  });

  it("rejects what re2js cannot compile, naming the key", () => {
    const error = compileError("sel:\n  v|re: 'foo(?!bar)'\ncondition: sel");
    expect(error.code).toBe("regex-unsupported");
    expect(error.key).toBe("detection.sel.v|re");
    expect(error.message).toContain("foo(?!bar)");
    expect(compileError("sel:\n  v|re: '(a)\\1'\ncondition: sel").code).toBe("regex-unsupported");
  });

  it("flags must follow re", () => {
    expect(compileError("sel:\n  v|i: x\ncondition: sel").code).toBe("invalid-modifier-use");
  });
});

describe("cidr", () => {
  const events = [
    "10.1.2.3",
    "192.168.0.7",
    "8.8.8.8",
    "fe80::1",
    "2001:db8::ff",
    "::ffff:10.9.9.9",
    "not an ip",
    "10.1.2",
  ].map((ip) => ({ ip }));

  it("matches IPv4 and IPv6 networks", () => {
    expect(matching("sel:\n  ip|cidr: [10.0.0.0/8, 192.168.0.0/16]\ncondition: sel", events)).toEqual([
      0, 1, 5,
    ]);
    expect(matching("sel:\n  ip|cidr: 'fe80::/10'\ncondition: sel", events)).toEqual([3]);
    expect(matching("sel:\n  ip|cidr: '2001:db8::/32'\ncondition: sel", events)).toEqual([4]);
    expect(matching("sel:\n  ip|cidr: 8.8.8.8/32\ncondition: sel", events)).toEqual([2]);
    expect(matching("sel:\n  ip|cidr: 0.0.0.0/0\ncondition: sel", events)).toEqual([0, 1, 2, 5]);
  });

  it("rejects an invalid network", () => {
    expect(compileError("sel:\n  ip|cidr: 10.0.0.0/33\ncondition: sel").code).toBe("invalid-modifier-use");
    expect(compileError("sel:\n  ip|cidr: nonsense\ncondition: sel").code).toBe("invalid-modifier-use");
  });
});

describe("numeric comparisons", () => {
  const events = [{ n: 5 }, { n: "10" }, { n: 15.5 }, { n: "abc" }, {}];

  it("gt, gte, lt, lte compare numbers and numeric text", () => {
    expect(matching("sel:\n  n|gt: 5\ncondition: sel", events)).toEqual([1, 2]);
    expect(matching("sel:\n  n|gte: 10\ncondition: sel", events)).toEqual([1, 2]);
    expect(matching("sel:\n  n|lt: 10\ncondition: sel", events)).toEqual([0]);
    expect(matching("sel:\n  n|lte: 10\ncondition: sel", events)).toEqual([0, 1]);
  });

  it("a range is two items", () => {
    expect(
      matching(
        "sel:\n  n|gt: 5\n  n|lt: 15\ncondition: sel",
        events.map((e) => ({ ...e })),
      ),
    ).toEqual([1]);
  });

  it("takes numbers only", () => {
    expect(compileError("sel:\n  n|gt: abc\ncondition: sel").code).toBe("invalid-modifier-use");
  });
});

describe("fieldref", () => {
  const events = [
    { Image: "C:\\a.exe", ParentImage: "c:\\A.EXE" },
    { Image: "C:\\a.exe", ParentImage: "C:\\b.exe" },
    { Image: "C:\\a.exe" },
  ];

  it("compares with another field of the event", () => {
    expect(matching("sel:\n  Image|fieldref: ParentImage\ncondition: sel", events)).toEqual([0]);
    expect(matching("sel:\n  Image|fieldref|cased: ParentImage\ncondition: sel", events)).toEqual([]);
    expect(
      matching("sel:\n  Image|fieldref|endswith: ParentImage\ncondition: sel", [
        { Image: "x\\a.exe", ParentImage: "A.exe" },
      ]),
    ).toEqual([0]);
  });
});

describe("expand", () => {
  it("needs a placeholder map", () => {
    const error = compileError("sel:\n  Host|expand: '%dcs%'\ncondition: sel");
    expect(error.code).toBe("placeholder-unresolved");
    expect(error.message).toContain("%dcs%");
  });

  it("expands to any of the given values", () => {
    const events = [{ Host: "dc1.corp" }, { Host: "dc2.corp" }, { Host: "ws1.corp" }];
    const options = { placeholders: { dcs: ["dc1", "dc2"] } };
    expect(matching("sel:\n  Host|expand: '%dcs%.corp'\ncondition: sel", events, options)).toEqual([0, 1]);
    expect(matching("sel:\n  Host|contains|expand: '%dcs%'\ncondition: sel", events, options)).toEqual([
      0, 1,
    ]);
  });

  it("without expand a percent sign is literal", () => {
    expect(matching("sel:\n  v: '%COMSPEC%'\ncondition: sel", [{ v: "%comspec%" }])).toEqual([0]);
  });
});

describe("time parts and neq", () => {
  it("compares a part of a timestamp", () => {
    const events = [
      { t: "2024-05-06T23:10:00Z" },
      { t: "2024-05-06T08:10:00Z" },
      { t: Date.UTC(2024, 0, 1, 23) },
    ];
    expect(matching("sel:\n  t|hour: 23\ncondition: sel", events)).toEqual([0, 2]);
    expect(matching("sel:\n  t|month: 5\ncondition: sel", events)).toEqual([0, 1]);
    expect(matching("sel:\n  t|week: 19\ncondition: sel", events)).toEqual([0, 1]);
  });

  it("neq matches a present field that differs", () => {
    expect(matching("sel:\n  v|neq: a\ncondition: sel", [{ v: "A" }, { v: "b" }, {}])).toEqual([1]);
  });
});

describe("keywords", () => {
  const events = [
    { message: "Accepted publickey for root from 10.0.0.1" },
    { nested: { deep: ["x", "FAILED password for admin"] } },
    { message: "nothing" },
    { count: 4242 },
  ];

  it("a keyword list matches any value anywhere in the event", () => {
    expect(
      matching("keywords:\n  - 'accepted publickey'\n  - 'failed password'\ncondition: keywords", events),
    ).toEqual([0, 1]);
    expect(matching("keywords: '4242'\ncondition: keywords", events)).toEqual([3]);
  });

  it("a keyword map applies modifiers: |all needs every keyword", () => {
    expect(matching("keywords:\n  '|all': [accepted, root]\ncondition: keywords", events)).toEqual([0]);
    expect(matching("keywords:\n  '|all': [accepted, admin]\ncondition: keywords", events)).toEqual([]);
    expect(matching("keywords:\n  '|re': 'for (root|admin)'\ncondition: keywords", events)).toEqual([0, 1]);
    expect(matching("keywords:\n  '|re|i': '^failed'\ncondition: keywords", events)).toEqual([1]);
  });

  it("keywords combine with field selections", () => {
    expect(
      matching("keywords: [root]\nsel:\n  message|startswith: accepted\ncondition: keywords and sel", events),
    ).toEqual([0]);
  });

  it("a field-only modifier needs a field", () => {
    expect(compileError("keywords:\n  '|exists': true\ncondition: keywords").code).toBe(
      "invalid-modifier-use",
    );
  });
});

describe("malformed detections", () => {
  it("names an unknown modifier and the key", () => {
    const error = compileError("sel:\n  Image|endwith: x\ncondition: sel");
    expect(error.code).toBe("unknown-modifier");
    expect(error.key).toBe("detection.sel.Image|endwith");
    expect(error.ruleId).toBe("rule-1");
    expect(error.message).toContain("test.yml");
    expect(error.message).toContain("endwith");
  });

  it("rejects nested maps and empty lists as values", () => {
    expect(compileError("sel:\n  Image:\n    nested: x\ncondition: sel").code).toBe("schema");
    expect(compileError("sel:\n  Image: []\ncondition: sel").code).toBe("schema");
    expect(compileError("sel:\ncondition: sel").code).toBe("schema");
  });

  it("rejects modifiers that cannot go together", () => {
    expect(compileError("sel:\n  v|re|cidr: x\ncondition: sel").code).toBe("invalid-modifier-use");
    expect(compileError("sel:\n  v|cidr|contains: 10.0.0.0/8\ncondition: sel").code).toBe(
      "invalid-modifier-use",
    );
    expect(compileError("sel:\n  v|contains: null\ncondition: sel").code).toBe("invalid-modifier-use");
  });
});

describe("remembered field reads", () => {
  it("reads an event changed between two evaluations afresh", () => {
    const rule = ruleFrom("sel:\n  v|contains: abc\ncondition: sel");
    const event: Record<string, unknown> = { v: "xabcx" };
    expect(rule.match(event)).toBe(true);
    event.v = "nothing";
    expect(rule.match(event)).toBe(false);
  });

  it("rules reading the same field agree within one evaluation of many events", async () => {
    const { matchingRules } = await import("./engine.ts");
    const first = ruleFrom("sel:\n  v|startswith: ab\ncondition: sel");
    const second = ruleFrom("sel:\n  v|endswith: yz\ncondition: sel");
    const events = [{ v: "abyz" }, { v: "ab" }, { v: "yz" }, { v: "ABYZ" }, {}];
    expect(events.map((event) => matchingRules([first, second], event).length)).toEqual([2, 1, 1, 2, 0]);
  });
});
