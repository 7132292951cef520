/**
 * Writes the demo's update logs (deterministic: the same files every run).
 * Run from the repo root: `node examples/updates/generate.ts`. See README.md for the story.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";

const root = import.meta.dirname;
const KST = 9 * 60; // the estate's clocks: +09:00, no daylight saving

let seed = 0x954960;
function random(): number {
  // mulberry32: small, seeded, good enough for plausible ids and jitter.
  seed = (seed + 0x6d2b79f5) | 0;
  let value = Math.imul(seed ^ (seed >>> 15), 1 | seed);
  value = (value + Math.imul(value ^ (value >>> 7), 61 | value)) ^ value;
  return ((value ^ (value >>> 14)) >>> 0) / 4294967296;
}
const hex = (digits: number) =>
  Array.from({ length: digits }, () => Math.floor(random() * 16).toString(16)).join("");
const guid = () => `${hex(8)}-${hex(4)}-4${hex(3)}-a${hex(3)}-${hex(12)}`;
const pad = (value: number, width = 2) => String(value).padStart(width, "0");

/** Wall-clock parts of a UTC millisecond instant at an offset. */
function parts(ms: number, offsetMinutes: number) {
  const date = new Date(ms + offsetMinutes * 60_000);
  return {
    y: date.getUTCFullYear(),
    mo: date.getUTCMonth() + 1,
    d: date.getUTCDate(),
    h: date.getUTCHours(),
    mi: date.getUTCMinutes(),
    s: date.getUTCSeconds(),
    ms: date.getUTCMilliseconds(),
  };
}
const at = (iso: string) => Date.parse(iso);

function write(path: string, lines: string[]): void {
  const file = join(root, path);
  mkdirSync(dirname(file), { recursive: true });
  // The Windows logs are CRLF on disk.
  writeFileSync(file, `${lines.join("\r\n")}\r\n`);
}

const WSUS = "wsus01.corp.example";
const CLIENT_URL = `http://${WSUS}/ClientWebService/client.asmx`;
const SERVICE_ID = "3DA21691-E39D-4DA6-8A4B-B43877BCB1B7";

// ---------------------------------------------------------------- WindowsUpdate.log (clients)

class WindowsUpdateLog {
  lines: string[] = [];
  readonly pid: string;
  readonly build: string;
  constructor(pid: string, build: string) {
    this.pid = pid;
    this.build = build;
  }
  line(ms: number, tid: string, component: string, text: string): void {
    const t = parts(ms, KST);
    this.lines.push(
      `${t.y}-${pad(t.mo)}-${pad(t.d)}\t${pad(t.h)}:${pad(t.mi)}:${pad(t.s)}:${pad(t.ms, 3)}\t ${this.pid}\t ${tid}\t${component}\t${text}`,
    );
  }
  stamp(ms: number): string {
    const t = parts(ms, KST);
    return `${t.y}-${pad(t.mo)}-${pad(t.d)} ${pad(t.h)}:${pad(t.mi)}:${pad(t.s)}:${pad(t.ms, 3)}+0900`;
  }
  start(ms: number): void {
    this.line(
      ms,
      "5c8",
      "Misc",
      `===========  Logging initialized (build: ${this.build}, tz: +0900)  ===========`,
    );
    this.line(ms, "5c8", "Misc", "  = Process: C:\\WINDOWS\\System32\\svchost.exe");
    this.line(ms, "5c8", "Misc", "  = Module: c:\\windows\\system32\\wuaueng.dll");
    this.line(ms + 15, "5c8", "Service", "*************");
    this.line(ms + 15, "5c8", "Service", "** START **  Service: Service startup");
    this.line(ms + 15, "5c8", "Service", "*********");
    this.line(ms + 30, "5c8", "Agent", "  * WU client version 7.2.6001.788");
    this.line(ms + 30, "5c8", "Agent", `  * WSUS server: http://${WSUS}`);
    this.line(ms + 30, "5c8", "Agent", `  * WSUS status server: http://${WSUS}`);
    this.line(ms + 45, "5c8", "Agent", "  * Access type: No proxy");
  }
  /** One detection cycle; returns the SOAP fault id when the sync failed with 954960. */
  detect(ms: number, fails954960: boolean, found: { title: string; kb: string }[]): string | undefined {
    const au = "1a4";
    const agent = hex(3);
    const callId = guid().toUpperCase();
    this.line(ms, au, "AU", "#############");
    this.line(ms, au, "AU", "## START ##  AU: Search for updates");
    this.line(ms, au, "AU", "#########");
    this.line(ms + 16, au, "AU", `<<## SUBMITTED ## AU: Search for updates [CallId = {${callId}}]`);
    this.line(ms + 16, agent, "Agent", "*************");
    this.line(ms + 16, agent, "Agent", "** START **  Agent: Finding updates [CallerId = AutomaticUpdates]");
    this.line(ms + 16, agent, "Agent", "*********");
    this.line(ms + 16, agent, "Agent", "  * Online = Yes; Ignore download priority = No");
    this.line(ms + 16, agent, "Agent", `  * ServiceID = {${SERVICE_ID}}`);
    this.line(ms + 80, agent, "PT", "+++++++++++  PT: Synchronizing server updates  +++++++++++");
    this.line(ms + 80, agent, "PT", `  + ServiceId = {${SERVICE_ID}}, Server URL = ${CLIENT_URL}`);
    const end = ms + 3234;
    if (fails954960) {
      const id = guid();
      const fault = [
        "WARNING: SyncUpdates failure, error = 0x8024400E, soap client error = 7, soap error code = 400, HTTP status code = 200",
        "WARNING: SOAP Fault: 0x000190",
        "WARNING: faultstring:Fault occurred",
        "WARNING: ErrorCode:InternalServerError(5)",
        "WARNING: Message:(null)",
        'WARNING: Method:"http://www.microsoft.com/SoftwareDistribution/Server/ClientWebService/SyncUpdates"',
        `WARNING: ID:${id}`,
      ];
      for (const text of fault) this.line(end, agent, "PT", text);
      this.line(end, agent, "PT", "WARNING: PTError: 0x8024400e");
      this.line(end, agent, "PT", "WARNING: SyncUpdates_WithRecovery failed.: 0x8024400e");
      this.line(end, agent, "PT", "WARNING: Sync of Updates: 0x8024400e");
      this.line(end, agent, "PT", "WARNING: SyncServerUpdatesInternal failed: 0x8024400e");
      this.line(end, agent, "Agent", "  * WARNING: Failed to synchronize, error = 0x8024400E");
      this.line(end + 16, agent, "Agent", "  * WARNING: Exit code = 0x8024400E");
      this.line(end + 16, agent, "Agent", "*********");
      this.line(
        end + 16,
        agent,
        "Agent",
        "**  END  **  Agent: Finding updates [CallerId = AutomaticUpdates]",
      );
      this.line(end + 16, agent, "Agent", "*************");
      this.line(
        end + 16,
        agent,
        "Agent",
        "WARNING: WU client failed Searching for update with error 0x8024400e",
      );
      this.line(end + 31, au, "AU", `>>##  RESUMED  ## AU: Search for updates [CallId = {${callId}}]`);
      this.line(end + 31, au, "AU", "  # WARNING: Search callback failed, result = 0x8024400E");
      this.line(end + 31, au, "AU", "  # WARNING: Failed to find updates with error code 8024400E");
      this.line(end + 31, au, "AU", "#########");
      this.line(end + 31, au, "AU", `##  END  ##  AU: Search for updates [CallId = {${callId}}]`);
      this.line(end + 31, au, "AU", "#############");
      this.line(
        end + 5000,
        agent,
        "Report",
        `REPORT EVENT: {${guid().toUpperCase()}}\t${this.stamp(end + 16)}\t1\t148 [AGENT_DETECTION_FAILED]\t101\t{00000000-0000-0000-0000-000000000000}\t0\t8024400e\tAutomaticUpdates\tFailure\tSoftware Synchronization\tWindows Update Client failed to detect with error 0x8024400e.`,
      );
      return id;
    }
    this.line(ms + 1900, agent, "PT", "+++++++++++  PT: Synchronizing extended update info  +++++++++++");
    this.line(ms + 1900, agent, "PT", `  + ServiceId = {${SERVICE_ID}}, Server URL = ${CLIENT_URL}`);
    this.line(
      end,
      agent,
      "Agent",
      `  * Found ${found.length} updates and 63 categories in search; evaluated appl. rules of 1402 out of 2216 deployed entities`,
    );
    this.line(end, agent, "Agent", "*********");
    this.line(end, agent, "Agent", "**  END  **  Agent: Finding updates [CallerId = AutomaticUpdates]");
    this.line(end, agent, "Agent", "*************");
    this.line(end + 15, au, "AU", `>>##  RESUMED  ## AU: Search for updates [CallId = {${callId}}]`);
    this.line(end + 15, au, "AU", `  # ${found.length} updates detected`);
    this.line(end + 15, au, "AU", "#########");
    this.line(end + 15, au, "AU", `##  END  ##  AU: Search for updates [CallId = {${callId}}]`);
    this.line(end + 15, au, "AU", "#############");
    this.line(
      end + 5000,
      agent,
      "Report",
      `REPORT EVENT: {${guid().toUpperCase()}}\t${this.stamp(end)}\t1\t147 [AGENT_DETECTION_FINISHED]\t101\t{00000000-0000-0000-0000-000000000000}\t0\t0\tAutomaticUpdates\tSuccess\tSoftware Synchronization\tWindows Update Client successfully detected ${found.length} updates.`,
    );
    if (found.length === 0) return undefined;
    let t = end + 60_000;
    const updates = found.map((update) => ({ ...update, id: guid().toUpperCase() }));
    this.line(t, au, "AU", "## START ##  AU: Download updates");
    for (const update of updates) {
      const dl = hex(3);
      this.line(
        t,
        dl,
        "DnldMgr",
        `*********** DnldMgr: New download job [UpdateId = {${update.id}}.101] ***********`,
      );
      this.line(t + 20, dl, "DnldMgr", `  * BITS job initialized, JobId = {${guid().toUpperCase()}}`);
      this.line(
        t + 40,
        dl,
        "DnldMgr",
        `  * Downloading from http://${WSUS}/Content/${hex(2).toUpperCase()}/${hex(40).toUpperCase()}.exe to C:\\WINDOWS\\SoftwareDistribution\\Download\\${hex(32)}\\${update.kb.toLowerCase()}.exe (full file).`,
      );
      t += 45_000 + Math.floor(random() * 30_000);
      this.line(
        t,
        agent,
        "Report",
        `REPORT EVENT: {${guid().toUpperCase()}}\t${this.stamp(t)}\t1\t143 [AGENT_DOWNLOAD_SUCCEEDED]\t101\t{${update.id}}\t101\t0\tAutomaticUpdates\tSuccess\tContent Download\tDownload succeeded.`,
      );
    }
    t += 3_600_000;
    const installer = hex(3);
    this.line(t, installer, "Agent", "*************");
    this.line(t, installer, "Agent", "** START **  Agent: Installing updates [CallerId = AutomaticUpdates]");
    this.line(t, installer, "Agent", "*********");
    this.line(t, installer, "Agent", `  * Updates to install = ${updates.length}`);
    for (const update of updates) {
      this.line(t, installer, "Agent", `  *   Title = ${update.title} (${update.kb})`);
      this.line(t, installer, "Agent", `  *   UpdateId = {${update.id}}.101`);
    }
    for (const update of updates) {
      t += 20_000 + Math.floor(random() * 20_000);
      this.line(t, installer, "Handler", ":::::::::::::");
      this.line(t, installer, "Handler", ":: START ::  Handler: Command Line Install");
      this.line(t, installer, "Handler", ":::::::::");
      this.line(t, installer, "Handler", "  : Updates to install = 1");
      t += 30_000;
      this.line(
        t,
        installer,
        "Handler",
        "  : Command line install completed. Return code = 0x00000000, Result = Succeeded, Reboot required = false",
      );
      this.line(
        t + 200,
        agent,
        "Report",
        `REPORT EVENT: {${guid().toUpperCase()}}\t${this.stamp(t)}\t1\t183 [AGENT_INSTALLING_SUCCEEDED]\t101\t{${update.id}}\t101\t0\tAutomaticUpdates\tSuccess\tContent Install\tInstallation Successful: Windows successfully installed the following update: ${update.title} (${update.kb})`,
      );
    }
    this.line(t + 300, installer, "Agent", "*********");
    this.line(
      t + 300,
      installer,
      "Agent",
      "**  END  **  Agent: Installing updates [CallerId = AutomaticUpdates]",
    );
    this.line(t + 300, installer, "Agent", "*************");
    return undefined;
  }
}

const JULY_UPDATES = [
  { title: "Security Update for Windows XP", kb: "KB950762" },
  { title: "Security Update for Windows XP", kb: "KB951748" },
  { title: "Security Update for Microsoft Office 2003", kb: "KB951944" },
];

interface Client {
  name: string;
  ip: string;
  office2003: boolean;
}
const clients: Client[] = [
  { name: "ws-0101", ip: "10.20.40.101", office2003: true },
  { name: "ws-0102", ip: "10.20.40.102", office2003: true },
  { name: "ws-0103", ip: "10.20.40.103", office2003: true },
  { name: "ws-0104", ip: "10.20.41.14", office2003: true },
  { name: "ws-0110", ip: "10.20.40.110", office2003: false },
  { name: "ws-0111", ip: "10.20.42.11", office2003: false },
];

/** The server's fix is installed here (UTC); later client syncs succeed. */
const FIX_INSTALLED = at("2008-07-10T01:30:00Z");
const failures: { client: string; id: string; ms: number }[] = [];

for (const [index, client] of clients.entries()) {
  const log = new WindowsUpdateLog(hex(3), "7.2.6001.788");
  log.start(at("2008-07-01T00:05:00Z") + index * 61_000);
  for (let day = 0; day < 14; day++) {
    const ms =
      at("2008-07-01T00:12:04Z") + day * 86_400_000 + index * 137_000 + Math.floor(random() * 600_000);
    const failing = client.office2003 && ms < FIX_INSTALLED;
    const afterFix = ms >= FIX_INSTALLED;
    const firstGoodDay = afterFix && ms < FIX_INSTALLED + 86_400_000;
    // Healthy clients got July's updates on the 9th (Patch Tuesday is the 8th); the Office 2003 ones only after the fix.
    const wantsUpdates = client.office2003 ? firstGoodDay : day === 8;
    const found = wantsUpdates
      ? JULY_UPDATES.filter((update) => client.office2003 || !update.title.includes("Office"))
      : [];
    const id = log.detect(ms, failing, found);
    if (id) failures.push({ client: client.name, id, ms: ms + 3234 });
  }
  write(`clients/${client.name}.corp.example/WindowsUpdate.log`, log.lines);
}

// ---------------------------------------------------------------- SoftwareDistribution.log (WSUS 3.0 SP1)

const wsus: { ms: number; text: string }[] = [];
function wsusLine(
  ms: number,
  level: string,
  thread: string,
  component: string,
  text: string,
  trace: string[] = [],
) {
  const t = parts(ms, 0);
  const stamp = `${t.y}-${pad(t.mo)}-${pad(t.d)} ${pad(t.h)}:${pad(t.mi)}:${pad(t.s)}.${pad(t.ms, 3)} UTC`;
  wsus.push({ ms, text: [`${stamp}\t${level}\t${thread}\t${component}\t${text}`, ...trace].join("\r\n") });
}
const STACK = [
  "   at System.Collections.Hashtable.Insert(Object key, Object nvalue, Boolean add)",
  "   at System.Collections.Hashtable.Add(Object key, Object value)",
  "   at Microsoft.UpdateServices.Internal.ClientImplementation.GetSyncInfo(DataAccess dataAccess, Hashtable stateTable, Hashtable deploymentTable, Boolean haveGroupsChanged, Boolean doChunking)",
  "   at Microsoft.UpdateServices.Internal.ClientImplementation.SoftwareSync(DataAccess dataAccess, UnencryptedCookieData cookieData, Int32[] installedNonLeafUpdateIds, Int32[] leafUpdateIds, Boolean haveGroupsChanged, Boolean expressQuery)",
  "   at Microsoft.UpdateServices.Internal.ClientImplementation.SyncUpdates(Cookie cookie, SyncUpdateParameters parameters)",
  "   at Microsoft.UpdateServices.Internal.ClientImplementation.SyncUpdates(Cookie cookie, SyncUpdateParameters parameters)",
  "   at Microsoft.UpdateServices.Internal.Client.SyncUpdates(Cookie cookie, SyncUpdateParameters parameters)",
];

function serviceStart(ms: number, version: string): void {
  wsusLine(
    ms,
    "Info",
    "WsusService.5",
    "WsusService.OnStart",
    "Windows Server Update Services service starting (WSUS 3.0 SP1)",
  );
  wsusLine(
    ms + 2500,
    "Info",
    "w3wp.5",
    "ClientImplementation..ctor",
    `Microsoft.UpdateServices.WebServices.Client.Dll version ${version}`,
  );
}
serviceStart(at("2008-06-30T23:58:10Z"), "3.1.6001.65");
for (let day = 0; day < 14; day++) {
  const ms = at("2008-07-01T03:00:00Z") + day * 86_400_000;
  wsusLine(
    ms,
    "Info",
    "WsusService.10",
    "CatalogSyncAgentCore.ExecuteSyncProtocol",
    "Synchronization started with upstream server https://fe2.update.microsoft.com/v6",
  );
  const received = day === 7 ? 41 : Math.floor(random() * 6);
  wsusLine(
    ms + 410_000 + Math.floor(random() * 60_000),
    "Info",
    "WsusService.10",
    "CatalogSyncAgentCore.ExecuteSyncProtocol",
    `Synchronization completed successfully: ${received} new updates, ${Math.floor(received / 3)} revised`,
  );
}
for (const failure of failures) {
  const key = 8800 + Math.floor(random() * 200);
  wsusLine(
    failure.ms - 5,
    "Error",
    `w3wp.${10 + Math.floor(random() * 4)}`,
    "ClientImplementation.SyncUpdates",
    `System.ArgumentException: Item has already been added. Key in dictionary: '${key}'  Key being added: '${key}'`,
    STACK,
  );
  wsusLine(
    failure.ms - 4,
    "Warning",
    "w3wp.12",
    "SoapUtilities.CreateException",
    `ThrowException: actor = ${CLIENT_URL}, ID=${failure.id}, ErrorCode=InternalServerError, Message=, Client=?`,
  );
}
wsusLine(
  FIX_INSTALLED,
  "Info",
  "WsusService.5",
  "WsusService.OnStop",
  "Windows Server Update Services service stopping: update KB954960 is being installed",
);
serviceStart(FIX_INSTALLED + 240_000, "3.1.6001.66");
write(
  `${WSUS}/SoftwareDistribution.log`,
  wsus.sort((left, right) => left.ms - right.ms).map((entry) => entry.text),
);

// ---------------------------------------------------------------- Wsyncmgr.log (ConfigMgr 2007 SP1)

const wsync: string[] = [];
function sms(ms: number, text: string): void {
  const t = parts(ms, KST);
  wsync.push(
    `${text}  $$<SMS_WSUS_SYNC_MANAGER><${pad(t.mo)}-${pad(t.d)}-${t.y} ${pad(t.h)}:${pad(t.mi)}:${pad(t.s)}.${pad(t.ms, 3)}-540><thread=3344 (0xD10)>`,
  );
}
function statmsg(ms: number, id: number, severity: string): string {
  const g = new Date(ms)
    .toUTCString()
    .replace(/^(\w+), (\d+) (\w+) (\d+) ([\d:]+) GMT$/, "$1 $3 $2 $5.000 $4");
  return `STATMSG: ID=${id} SEV=${severity} LEV=M SOURCE="SMS Server" COMP="SMS_WSUS_SYNC_MANAGER" SYS=SCCM01 SITE=CEN PID=2084 TID=3344 GMTDATE=${g} ISTR0="" ISTR1="" ISTR2="" ISTR3="" ISTR4="" ISTR5="" ISTR6="" ISTR7="" ISTR8="" ISTR9="" NUMATTRS=0`;
}
function legacySync(ms: number, broken: boolean): void {
  sms(ms, "Performing legacy sync");
  sms(ms + 20, statmsg(ms + 20, 6709, "I"));
  sms(
    ms + 40,
    "Started with command line: C:\\Program Files\\Microsoft Configuration Manager\\bin\\i386\\updatewuscatalog.exe /sync /logfile C:\\Program Files\\Microsoft Configuration Manager\\Logs\\updatewuscatalog.log",
  );
  sms(
    ms + 1200,
    "Processing security catalog C:\\Program Files\\Microsoft Updates Inventory Tool\\PkgSource\\wsusscn2.cab ...",
  );
  sms(
    ms + 1300,
    "Initializing catalog C:\\Program Files\\Microsoft Updates Inventory Tool\\PkgSource\\wsusscn2.cab for synchronization.",
  );
  sms(ms + 95_000, "Pre-processing updates...");
  if (broken) {
    sms(
      ms + 97_500,
      "Error 0x80004005, Unexpected DeploymentAction for update 1293995. Returned from CreateUpdateNode",
    );
    sms(ms + 97_600, "Updates summary: 0 processed, 0 matched, 0 outdated, 0 updated");
  } else {
    sms(
      ms + 240_000,
      `Updates summary: ${2400 + Math.floor(random() * 30)} processed, 2398 matched, 2 outdated, ${Math.floor(random() * 20)} updated`,
    );
  }
}
function sync(ms: number, brokenLegacy: boolean): void {
  sms(ms, "Starting Sync");
  sms(ms + 10, statmsg(ms + 10, 6701, "I"));
  sms(ms + 300, `Synchronizing with WSUS server ${WSUS}`);
  sms(ms + 600, `Synchronizing WSUS server ${WSUS} ...`);
  sms(ms + 65_000, `Synchronizing WSUS server ${WSUS} ...`);
  sms(ms + 65_100, `Synchronizing SMS database with WSUS server ${WSUS}`);
  sms(ms + 150_000, `Done synchronizing SMS with WSUS Server ${WSUS}`);
  legacySync(ms + 151_000, brokenLegacy);
  if (brokenLegacy) {
    sms(
      ms + 250_000,
      "Sync failed: Failed to process legacy catalog wsusscn2.cab. Source: CWSyncMgr::DoSync",
    );
    sms(ms + 250_010, statmsg(ms + 250_010, 6703, "E"));
    sms(ms + 250_020, "Sync failed. Will retry in 60 minutes");
  } else {
    sms(ms + 400_000, "Sync succeeded. Setting sync alert to canceled state on site CEN");
    sms(ms + 400_010, statmsg(ms + 400_010, 6702, "I"));
    sms(ms + 400_020, "Sync time: 0d00h06m40s");
  }
}
sms(at("2008-06-09T23:00:00Z"), "SMS_EXECUTIVE started SMS_WSUS_SYNC_MANAGER as thread ID 3344 (0xD10).");
// June 2008: Patch Tuesday on the 10th (11th in Korea); the catalog that followed broke the legacy sync until KB954474.
for (let day = 0; day < 10; day++) {
  const ms = at("2008-06-10T17:00:00Z") + day * 86_400_000;
  const fixed = ms >= at("2008-06-18T05:00:00Z");
  sync(ms, !fixed);
}
write("sccm01.corp.example/Wsyncmgr.log", wsync);

// ---------------------------------------------------------------- CBS.log (Vista SP1 client)

const cbs: string[] = [];
function cbsLine(ms: number, level: string, component: string, text: string): void {
  const t = parts(ms, KST);
  cbs.push(
    `${t.y}-${pad(t.mo)}-${pad(t.d)} ${pad(t.h)}:${pad(t.mi)}:${pad(t.s)}, ${level.padEnd(22)}${component.padEnd(7)}${text}`,
  );
}
function servicing(ms: number, kb: string, fails: boolean): void {
  const session = `${29_939_841 + Math.floor(random() * 1000)}_${Math.floor(random() * 4e9)}`;
  const pkg = `Package_for_${kb}~31bf3856ad364e35~x86~~6.0.1.0`;
  cbsLine(
    ms,
    "Info",
    "CBS",
    "Loaded Servicing Stack v6.0.6001.18000 with Core: C:\\Windows\\winsxs\\x86_microsoft-windows-servicingstack_31bf3856ad364e35_6.0.6001.18000_none_0b43e5b5b0f44d8d\\cbscore.dll",
  );
  cbsLine(
    ms + 400,
    "Info",
    "CSI",
    `00000001@2008/7/11:${pad(parts(ms, 0).h)}:${pad(parts(ms, 0).mi)}:00.123 WcpInitialize (wcp.dll version 0.0.0.5) called (stack @0x6f1c2a2f @0x6f3e5b64 @0x6f3e2a9c @0x7b1f22a1 @0x7b1f1a3a @0x7b1f1e59)`,
  );
  cbsLine(ms + 600, "Info", "CBS", "Starting the TrustedInstaller main loop.");
  cbsLine(ms + 600, "Info", "CBS", "TrustedInstaller service starts successfully.");
  cbsLine(ms + 1000, "Info", "CBS", `Session: ${session} initialized by client WindowsUpdateAgent.`);
  cbsLine(
    ms + 1200,
    "Info",
    "CBS",
    `Read out cached package applicability for package: ${pkg}, ApplicableState: 112, CurrentState:0`,
  );
  cbsLine(
    ms + 1500,
    "Info",
    "CBS",
    `Exec: Installing Package: ${pkg}, Update: ${kb}-GDR, InstallDeployment: x86_microsoft-windows-dns-client_31bf3856ad364e35_6.0.6001.18081_none_2a0ae7e9e2ef6b1b`,
  );
  if (fails) {
    cbsLine(
      ms + 9000,
      "Error",
      "CSI",
      "00000032 (F) STATUS_SXS_COMPONENT_STORE_CORRUPT #1187# from Windows::ServicingAPI::CCSITransaction::ICSITransaction_PinDeployment(Flags = 0, a = x86_microsoft-windows-dns-client_31bf3856ad364e35_6.0.6001.18081_none_2a0ae7e9e2ef6b1b)[gle=0x80073712]",
    );
    cbsLine(
      ms + 9100,
      "Info",
      "CBS",
      `Failed to pin deployment while resolving Update: ${kb}-GDR from file: (null) [HRESULT = 0x80073712 - ERROR_SXS_COMPONENT_STORE_CORRUPT]`,
    );
    cbsLine(
      ms + 9200,
      "Info",
      "CBS",
      `Failed to install package ${pkg} [HRESULT = 0x80073712 - ERROR_SXS_COMPONENT_STORE_CORRUPT]`,
    );
    cbsLine(
      ms + 9300,
      "Info",
      "CBS",
      `Session: ${session} finalized. Reboot required: no [HRESULT = 0x80073712 - ERROR_SXS_COMPONENT_STORE_CORRUPT]`,
    );
    return;
  }
  cbsLine(
    ms + 9000,
    "Info",
    "CSI",
    `0000002f@2008/7/11:${pad(parts(ms, 0).h)}:${pad(parts(ms, 0).mi)}:09.000 CSI perf trace:`,
  );
  cbs.push("CSIPERF:TXCOMMIT;21340");
  cbsLine(
    ms + 9100,
    "Info",
    "CBS",
    `Exec: Package: ${pkg} completed successfully. Installed state: Installed`,
  );
  cbsLine(
    ms + 9200,
    "Info",
    "CBS",
    `Session: ${session} finalized. Reboot required: no [HRESULT = 0x00000000 - S_OK]`,
  );
}
servicing(at("2008-07-09T01:20:00Z"), "KB951748", false);
servicing(at("2008-07-09T01:40:00Z"), "KB950974", true);
write("clients/ws-0120.corp.example/CBS.log", cbs);

// ---------------------------------------------------------------- manifest

const manifest = [
  ...clients.map((client) => ({
    file: `clients/${client.name}.corp.example/WindowsUpdate.log`,
    format: "windowsupdate",
    host: `${client.name}.corp.example`,
    ip: client.ip,
    role: client.office2003 ? "client (Office 2003: logs 954960 until the server fix)" : "client (healthy)",
  })),
  {
    file: "clients/ws-0120.corp.example/CBS.log",
    format: "cbs",
    host: "ws-0120.corp.example",
    ip: "10.20.42.120",
    role: "client (Vista SP1, one install fails with a corrupt component store)",
  },
  {
    file: `${WSUS}/SoftwareDistribution.log`,
    format: "wsus",
    host: WSUS,
    ip: "10.20.1.30",
    role: "WSUS 3.0 SP1 server (954960, fixed 2008-07-10 01:30 UTC: 3.1.6001.66)",
  },
  {
    file: "sccm01.corp.example/Wsyncmgr.log",
    format: "wsyncmgr",
    host: "sccm01.corp.example",
    ip: "10.20.1.31",
    role: "ConfigMgr 2007 SP1 site server CEN (954474 until 2008-06-18)",
  },
];
writeFileSync(join(root, "manifest.json"), `${JSON.stringify(manifest, null, 2)}\n`);
console.log(`wrote ${manifest.length} logs; ${failures.length} client sync failures (954960)`);
