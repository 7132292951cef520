import { readFileSync } from "node:fs";
import { UpdateEventV1 } from "@vigil/schema";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  checkUpdateLogFormat,
  createUpdateLogParser,
  detectUpdateLogFormat,
  extractErrorCodes,
  extractKbIds,
  splitUpdateLogRecords,
  UPDATE_LOG_FORMATS,
  type UpdateLogFormat,
  type UpdateParseOptions,
} from "./index.ts";

const fixture = (name: string) => readFileSync(new URL(`./fixtures/${name}`, import.meta.url), "utf8");
const fixed = { now: () => new Date("2024-05-01T00:00:00Z") };

function parseAll(text: string, format: UpdateLogFormat, options: UpdateParseOptions = {}) {
  const parse = createUpdateLogParser(format, { ...fixed, ...options });
  return splitUpdateLogRecords(text, format).map((record) => parse(record.text, record.position));
}

function events(text: string, format: UpdateLogFormat, options: UpdateParseOptions = {}): UpdateEventV1[] {
  return parseAll(text, format, options).map((result) => {
    if (result.status !== "record") throw new Error(`not a record: ${JSON.stringify(result)}`);
    return UpdateEventV1.parse(result.value);
  });
}

describe("the advisories' log excerpts (seeds 003 and 004)", () => {
  it("954960 client: the SyncUpdates failure and its SOAP fault lines are one event with the signature", () => {
    const parsed = events(fixture("seed-954960-client-WindowsUpdate.log"), "windowsupdate", {
      host: "ws-0101.corp.example",
    });
    expect(parsed).toHaveLength(3);
    const failure = parsed[2]!;
    expect(failure.signature?.id).toBe("ms-954960-client-syncupdates-0x8024400e");
    expect(failure.signature?.advisory).toBe("954960");
    expect(failure).toMatchObject({
      event_kind: "sync",
      outcome: "failure",
      component: "PT",
      role: "client",
      host: "ws-0101.corp.example",
      error_codes: ["0x8024400E"],
      soap_fault_id: "c0a7445f-b989-43fa-ac20-11f8ca65fa8c",
      source_location: { line: 3, last_line: 9 },
      update_server: { url: "https://<WSUS Server>/ClientWebService/client.asmx" },
    });
    expect(failure.raw_data.split("\n")).toHaveLength(7);
    expect(failure.raw_data).toContain("ErrorCode:InternalServerError(5)");
    expect(parsed[0]!.signature).toBeUndefined();
    expect(parsed[0]!.message).toBe("+++++++++++ PT: Synchronizing server updates +++++++++++");
  });

  it("954960 server: the duplicate-key exception with its stack trace is one event; the fault id ties it to the client", () => {
    const parsed = events(fixture("seed-954960-server-SoftwareDistribution.log"), "wsus");
    expect(parsed).toHaveLength(2);
    const [exception, soap] = parsed;
    expect(exception).toMatchObject({
      signature: { id: "ms-954960-server-duplicate-key", advisory: "954960" },
      component: "ClientImplementation.SyncUpdates",
      level: "Error",
      outcome: "failure",
      event_kind: "sync",
      role: "server",
      time: "2008-06-14T02:59:57.642Z",
      time_basis: "utc",
      exception: { type: "System.ArgumentException" },
      source_location: { line: 1, last_line: 9 },
    });
    expect(exception!.exception!.message).toBe(
      "Item has already been added. Key in dictionary: '8862' Key being added: '8862'",
    );
    expect(exception!.raw_data).toContain("at Microsoft.UpdateServices.Internal.Client.SyncUpdates(");
    expect(soap).toMatchObject({
      outcome: "warning",
      soap_fault_id: "c0a7445f-b989-43fa-ac20-11f8ca65fa8c",
      update_server: { host: "wsusebc", url: "https://wsusebc/ClientWebService/client.asmx" },
    });
    expect(soap!.signature).toBeUndefined();
  });

  it("954474: Unexpected DeploymentAction and the all-zero summary carry their signatures", () => {
    const parsed = events(fixture("seed-954474-Wsyncmgr.log"), "wsyncmgr", { host: "sccm01.corp.example" });
    expect(parsed).toHaveLength(8);
    const signed = parsed.filter((event) => event.signature);
    expect(signed.map((event) => event.signature!.id)).toEqual([
      "ms-954474-unexpected-deploymentaction",
      "ms-954474-zero-processed-summary",
    ]);
    expect(signed[0]).toMatchObject({
      error_codes: ["0x80004005"],
      update_ids: ["1293995"],
      outcome: "failure",
      role: "site-server",
    });
    // Excerpts carry no time: the event says so rather than inventing one.
    expect(signed[0]!.time).toBeUndefined();
  });
});

describe("WindowsUpdate.log", () => {
  const log = [
    "2008-07-20\t09:00:01:100\t 3a0\t 4b8\tMisc\t===========  Logging initialized (build: 7.2.6001.788, tz: +0200)  ===========",
    "2008-07-20\t09:00:05:020\t 3a0\t 4b8\tAgent\t  * WSUS server: http://wsus01.corp.example",
    "2008-07-20\t09:01:02:311\t 3a0\t 4b8\tPT\t+++++++++++  PT: Synchronizing server updates  +++++++++++",
    "2008-07-20\t09:01:02:311\t 3a0\t 4b8\tPT\t  + ServiceId = {3DA21691-E39D-4DA6-8A4B-B43877BCB1B7}, Server URL = http://wsus01.corp.example/ClientWebService/client.asmx",
    "2008-07-20\t09:01:09:880\t 3a0\t 4b8\tAgent\t  * Found 2 updates and 61 categories in search; evaluated appl. rules of 1207 out of 1893 deployed entities",
    "2008-07-20\t09:02:10:001\t 3a0\t 6c4\tDnldMgr\t  * Downloading from http://wsus01.corp.example/Content/9A/1C2A.cab",
    "2008-07-20\t09:05:44:512\t 3a0\t 6c4\tAgent\t  *   UpdateId = {6E5B8F0B-6F7C-4F1E-9C77-2C7C8F86A2B1}.101",
    "2008-07-20\t09:06:01:100\t 3a0\t 6c4\tAgent\t  * WARNING: Exit code = 0x80070643",
    "2008-07-20\t09:06:01:200\t 3a0\t 6c4\tReport\tREPORT EVENT: {D9A3C3C1-1B4E-4C5A-9F8B-0A8E1C7F2B11}\t2008-07-20 09:06:01:100+0200\t1\t183 [AGENT_INSTALLING_SUCCEEDED]\t101\t{6E5B8F0B-6F7C-4F1E-9C77-2C7C8F86A2B1}\t101\t0\tAutomaticUpdates\tSuccess\tContent Install\tInstallation Successful: Windows successfully installed the following update: Security Update for Windows XP (KB950762)",
  ].join("\n");

  it("reads the log's own offset, the update server, and classifies kind and outcome", () => {
    const parsed = events(log, "windowsupdate", { host: "ws-0102.corp.example" });
    expect(parsed).toHaveLength(9);
    expect(parsed[0]).toMatchObject({
      time: "2008-07-20T09:00:01.100+02:00",
      time_basis: "logged-offset",
      file_versions: [{ file: "wuaueng.dll", version: "7.2.6001.788" }],
      process: "3a0",
      thread: "4b8",
    });
    expect(parsed[2]).toMatchObject({ event_kind: "sync", update_server: { host: "wsus01.corp.example" } });
    expect(parsed[4]!.event_kind).toBe("detect");
    expect(parsed[5]!.event_kind).toBe("download");
    expect(parsed[6]!.update_ids).toEqual(["{6E5B8F0B-6F7C-4F1E-9C77-2C7C8F86A2B1}.101"]);
    expect(parsed[7]).toMatchObject({ outcome: "failure", error_codes: ["0x80070643"] });
    expect(parsed[8]).toMatchObject({ event_kind: "install", outcome: "success", kb_ids: ["KB950762"] });
  });

  it("uses the configured offset when the log does not state one, and flags a guess", () => {
    const line = "2008-07-20\t09:01:02:311\t 3a0\t 4b8\tPT\tsomething";
    expect(events(line, "windowsupdate", { utcOffset: "+09:00" })[0]).toMatchObject({
      time: "2008-07-20T09:01:02.311+09:00",
      time_basis: "configured-offset",
    });
    expect(events(line, "windowsupdate")[0]).toMatchObject({
      time: "2008-07-20T09:01:02.311Z",
      time_basis: "assumed-utc",
    });
  });

  it("refuses lines that are not in the format, and impossible dates, with a reason", () => {
    const results = parseAll(
      ["hello world", "2008-02-30\t09:01:02:311\t 3a0\t 4b8\tPT\tbad date", "  orphan continuation"].join(
        "\n",
      ),
      "windowsupdate",
    );
    expect(results).toEqual([
      { status: "invalid", kind: "format", reason: expect.stringContaining('found "hello world"') },
      { status: "invalid", kind: "time", reason: expect.stringContaining("2008-02-30 09:01:02:311") },
      { status: "invalid", kind: "orphan", reason: expect.stringContaining("expected WindowsUpdate.log") },
    ]);
  });

  it("gives repeated identical entries distinct, stable ids", () => {
    const line = "2008-07-20\t09:01:02:311\t 3a0\t 4b8\tPT\tsame";
    const first = events(`${line}\n${line}`, "windowsupdate").map((event) => event.id);
    const again = events(`${line}\n${line}`, "windowsupdate").map((event) => event.id);
    expect(new Set(first).size).toBe(2);
    expect(again).toEqual(first);
  });
});

describe("WSUS SoftwareDistribution.log", () => {
  it("recognises the fixed and the unfixed client web service version", () => {
    const log = [
      "2008-07-10 03:10:00.100 UTC\tInfo\tw3wp.5\tClientImplementation..ctor\tMicrosoft.UpdateServices.WebServices.Client.Dll version 3.1.6001.65",
      "2008-07-11 03:10:00.100 UTC\tInfo\tw3wp.5\tClientImplementation..ctor\tMicrosoft.UpdateServices.WebServices.Client.Dll version 3.1.6001.66",
      "2008-07-11 03:15:00.100 UTC\tInfo\tWsusService.13\tCatalogSyncAgentCore.ExecuteSyncProtocol\tSynchronization completed successfully",
    ].join("\n");
    const parsed = events(log, "wsus", { host: "wsus01.corp.example" });
    expect(parsed.map((event) => event.signature?.id)).toEqual([
      "ms-954960-server-unfixed-version",
      "ms-954960-server-fix-installed",
      undefined,
    ]);
    expect(parsed[1]!.file_versions).toEqual([
      { file: "Microsoft.UpdateServices.WebServices.Client.Dll", version: "3.1.6001.66" },
    ]);
    expect(parsed[2]).toMatchObject({ event_kind: "sync", outcome: "success" });
  });

  it("refuses a stack trace with no entry before it", () => {
    expect(parseAll("   at System.Foo()\n", "wsus")[0]).toMatchObject({ status: "invalid", kind: "orphan" });
  });
});

describe("Wsyncmgr.log", () => {
  it("reads CMTrace entries (multi-line text, bias) and the $$< form", () => {
    const log = [
      '<![LOG[Synchronizing with WSUS server wsus01.corp.example]LOG]!><time="02:00:01.123+420" date="06-12-2008" component="SMS_WSUS_SYNC_MANAGER" context="" type="1" thread="3344" file="wsyncmgr.cpp:1527">',
      '<![LOG[STATMSG: ID=6703 SEV=E LEV=M SOURCE="SMS Server" COMP="SMS_WSUS_SYNC_MANAGER" SYS=SCCM01 SITE=CEN',
      'ISTR0="wsus01"]LOG]!><time="02:10:01.000-540" date="06-12-2008" component="SMS_WSUS_SYNC_MANAGER" context="" type="3" thread="3344" file="wsyncmgr.cpp:1600">',
      "Sync succeeded. Setting sync alert to canceled state on site CEN  $$<SMS_WSUS_SYNC_MANAGER><06-13-2008 02:00:05.500+420><thread=3344 (0xD10)>",
      "Updates summary: 4210 processed, 3988 matched, 12 outdated, 210 updated  $$<SMS_WSUS_SYNC_MANAGER><06-13-2008 02:00:06.000+420><thread=3344 (0xD10)>",
    ].join("\n");
    const parsed = events(log, "wsyncmgr");
    expect(parsed).toHaveLength(4);
    expect(parsed[0]).toMatchObject({
      time: "2008-06-12T02:00:01.123-07:00",
      time_basis: "logged-offset",
      component: "SMS_WSUS_SYNC_MANAGER",
      level: "info",
      thread: "3344",
      update_server: { host: "wsus01.corp.example" },
    });
    expect(parsed[1]).toMatchObject({
      time: "2008-06-12T02:10:01.000+09:00",
      outcome: "failure",
      host: "SCCM01",
      host_origin: "log",
      source_location: { line: 2, last_line: 3 },
    });
    expect(parsed[1]!.message).toContain('ISTR0="wsus01"');
    expect(parsed[2]).toMatchObject({ outcome: "success", time: "2008-06-13T02:00:05.500-07:00" });
    expect(parsed[3]).toMatchObject({ outcome: "success" });
    expect(parsed[3]!.signature).toBeUndefined();
  });

  it("refuses a CMTrace entry with an impossible date", () => {
    const line =
      '<![LOG[x]LOG]!><time="02:00:01.123+420" date="13-40-2008" component="SMS_WSUS_SYNC_MANAGER" context="" type="1" thread="1" file="">';
    expect(parseAll(line, "wsyncmgr")[0]).toMatchObject({ status: "invalid", kind: "time" });
  });
});

describe("CBS.log", () => {
  it("reads level, component, KB ids, servicing stack version and HRESULTs", () => {
    const log = [
      "2016-09-28 04:30:30, Info                  CBS    Loaded Servicing Stack v6.1.7601.23505 with Core: C:\\Windows\\winsxs\\amd64_microsoft-windows-servicingstack_31bf3856ad364e35_6.1.7601.23505_none_681aa442f6fed7f0\\cbscore.dll",
      "2016-09-28 04:30:31, Info                  CBS    Failed to get next element [HRESULT = 0x800f080d - CBS_E_MANIFEST_INVALID_ITEM]",
      "2016-09-28 04:30:37, Info                  CBS    Read out cached package applicability for package: Package_for_KB2479943~31bf3856ad364e35~amd64~~6.1.1.0, ApplicableState: 112, CurrentState:112",
      "2016-09-28 04:31:00, Error                 CBS    Exec: Installing Package_for_KB3177467~31bf3856ad364e35~amd64~~6.1.3.1 failed [HRESULT = 0x80073712 - ERROR_SXS_COMPONENT_STORE_CORRUPT]",
      "2016-09-28 04:31:01, Info                  CSI    00000007@2016/9/27:20:30:31.462 CSI perf trace:",
      "CSIPERF:TXCOMMIT;28430",
    ].join("\n");
    const parsed = events(log, "cbs", { utcOffset: "+08:00" });
    expect(parsed).toHaveLength(5);
    expect(parsed[0]).toMatchObject({
      event_kind: "service",
      file_versions: [{ file: "cbscore.dll", version: "6.1.7601.23505" }],
      time: "2016-09-28T04:30:30+08:00",
    });
    expect(parsed[1]).toMatchObject({ outcome: "failure", error_codes: ["0x800F080D"] });
    expect(parsed[2]).toMatchObject({ event_kind: "detect", kb_ids: ["KB2479943"] });
    expect(parsed[3]).toMatchObject({ event_kind: "install", outcome: "failure", level: "Error" });
    expect(parsed[4]).toMatchObject({ source_location: { line: 5, last_line: 6 } });
  });
});

describe("format checks", () => {
  const samples: Record<UpdateLogFormat, string> = {
    windowsupdate: "2008-07-20\t09:01:02:311\t 3a0\t 4b8\tPT\tx",
    wsus: "2008-06-14 02:59:57.642 UTC\tInfo\tw3wp.12\tClient.GetCookie\tx",
    wsyncmgr:
      '<![LOG[x]LOG]!><time="02:00:01.123+420" date="06-12-2008" component="SMS_WSUS_SYNC_MANAGER" context="" type="1" thread="1" file="">',
    cbs: "2016-09-28 04:30:31, Info                  CBS    x",
  };

  it("detects each format from its lines", () => {
    for (const format of UPDATE_LOG_FORMATS)
      expect(detectUpdateLogFormat([samples[format]]).format).toBe(format);
    expect(detectUpdateLogFormat(['{"event_type":"alert"}'])).toEqual({
      format: undefined,
      found: "JSON (a Suricata EVE record?)",
    });
  });

  it("names the expected format and what was found for a file in another format", () => {
    expect(checkUpdateLogFormat("windowsupdate", [samples.cbs])).toBe(
      "expected WindowsUpdate.log lines: 'YYYY-MM-DD<TAB>HH:MM:SS:mmm<TAB>pid<TAB>tid<TAB>component<TAB>text'; found a CBS.log",
    );
    expect(checkUpdateLogFormat("wsyncmgr", ['{"a":1}'])).toMatch(
      /^expected ConfigMgr Wsyncmgr\.log .*; found JSON$/,
    );
    expect(checkUpdateLogFormat("cbs", ["name,ip,os,owner"])).toMatch(
      /found CSV-like text "name,ip,os,owner"$/,
    );
    for (const format of UPDATE_LOG_FORMATS)
      expect(checkUpdateLogFormat(format, [samples[format]])).toBeUndefined();
  });
});

describe("helpers", () => {
  it("normalises error codes (with or without 0x) and skips S_OK", () => {
    expect(
      extractErrorCodes(
        "error = 0x8024400e; Failed to find updates with error code 8024402C, result 0x00000000",
      ),
    ).toEqual(["0x8024400E", "0x8024402C"]);
    expect(extractErrorCodes("handle @0x7fed806eb5d flags 0x2")).toEqual([]);
  });

  it("finds KB ids inside package names", () => {
    expect(extractKbIds("Package_for_KB2479943~31bf KB954960, kb123")).toEqual(["KB2479943", "KB954960"]);
  });
});

describe("fuzz: no exception escapes a parser, and every record is a valid UpdateEventV1", () => {
  const lineish = fc.oneof(
    fc.string({ maxLength: 300 }),
    fc.stringMatching(/^\d{4}-\d{2}-\d{2}[\t ]\d{2}:\d{2}:\d{2}[:.,]\d{0,3}[\t ]+[\w .:<>[\]!="+-]{0,80}$/),
    fc.constantFrom(
      "2008-06-13 19:59:56:617 788 ee4 PT WARNING: SyncUpdates failure, error = 0x8024400E",
      '<![LOG[x]LOG]!><time="99:99:99.9+99999" date="00-00-0000">',
      "x $$<C><01-01-2008 00:00:00.000+0><thread=1 (0x1)>",
      "2016-09-28 04:30:31, Info  CBS",
    ),
  );
  for (const format of UPDATE_LOG_FORMATS) {
    it(format, () => {
      fc.assert(
        fc.property(
          fc.array(lineish, { maxLength: 8 }),
          fc.uint8Array({ maxLength: 200 }),
          (lines, bytes) => {
            const parse = createUpdateLogParser(format, fixed);
            for (const input of [lines.join("\n"), Buffer.from(bytes)]) {
              const result = parse(input, { line: 1 });
              if (result.status === "record")
                expect(UpdateEventV1.safeParse(result.value).success).toBe(true);
              else expect(result.status === "invalid" && result.reason.length > 0).toBe(true);
            }
            splitUpdateLogRecords(lines.join("\n"), format);
            detectUpdateLogFormat(lines);
            checkUpdateLogFormat(format, lines);
          },
        ),
        { numRuns: 300 },
      );
    });
  }
});
