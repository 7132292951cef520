/**
 * The sample events of every pack test, by events file (relative to the pack root). Generated into
 * `tests/**` by `generate.ts`; `samples.test.ts` checks the committed files are exactly what this
 * makes and that every record is valid against its schema, so they cannot drift.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { auditRecord } from "@vigil/inventory";
import type { AuditV1, HostV1 } from "@vigil/schema";
import { advisoryKey, idsRecordKey, updateEventKey } from "@vigil/schema";
import { EXAMPLES_DIR, type ExampleEvent, exampleIdsAlerts } from "../examples.ts";
import {
  agentReport,
  dhcpLease,
  directoryAccount,
  dnsRecord,
  managementExport,
  SampleEstate,
  UBUNTU,
  WIN10,
  WIN11,
  WS2008R2,
  WS2019,
  WS2022,
  XP,
} from "./estate.ts";
import {
  advisoryDocument,
  eveAlert,
  exampleAdvisories,
  exampleUpdateLog,
  firewallLine,
  updateLog,
} from "./sources.ts";

const host = (value: HostV1): ExampleEvent => ({ kind: "inventory.host", value, key: value.id });
const ids = (value: ReturnType<typeof eveAlert>): ExampleEvent => ({
  kind: "ids.alert",
  value,
  key: idsRecordKey(value),
});
const fw = (line: string): ExampleEvent => {
  const value = firewallLine(line);
  return { kind: "firewall.event", value, key: value.asset_ip ?? value.device.hostname ?? "unknown" };
};
const advisory = (value: ReturnType<typeof advisoryDocument>[number]): ExampleEvent => ({
  kind: "advisory",
  value,
  key: advisoryKey(value),
});
const audit = (value: AuditV1): ExampleEvent => ({ kind: "inventory.audit", value, key: value.source });
const update = (value: ReturnType<typeof updateLog>[number]): ExampleEvent => ({
  kind: "updates.agent",
  value,
  key: updateEventKey(value),
});

// ------------------------------------------------------------------------------ hosts used by many

const JULY_2020_CU = ["KB4558998", "KB4566424"];
const SEPT_2020_ON = ["KB4570333", "KB4577069"];

function domainController(
  estate: SampleEstate,
  name: "dc01" | "dc02",
  ip: string,
  updates: string[],
): HostV1 {
  return estate.observeAll(
    agentReport({
      name,
      ip,
      mac: name === "dc01" ? "b0:26:28:00:01:9c" : "b0:26:28:00:02:37",
      serial: name === "dc01" ? "DE05A007" : "DE05A00E",
      time: "2024-03-12T05:00:00Z",
      type: "server",
      os: WS2019,
      updates,
      ports: [
        [53, "udp", "C:\\Windows\\system32\\dns.exe"],
        [88, "tcp", "C:\\Windows\\system32\\lsass.exe"],
        [135, "tcp", "C:\\Windows\\system32\\svchost.exe"],
        [389, "tcp", "C:\\Windows\\system32\\lsass.exe"],
        [445, "tcp", "System"],
        [636, "tcp", "C:\\Windows\\system32\\lsass.exe"],
        [3268, "tcp", "C:\\Windows\\system32\\lsass.exe"],
      ],
      admins: ["corp-localadmin"],
      antivirus: {
        product: "Microsoft Defender Antivirus",
        enabled: true,
        up_to_date: true,
        signature_date: "2024-03-11 05:00:00",
        state: "On",
      },
      roles: { domain_controller: true, tags: ["domain-controller", "dns"] },
    }),
    directoryAccount({
      name,
      time: "2024-03-12T06:00:00Z",
      enabled: true,
      lastLogon: "2024-03-12T05:00:00Z",
      ou: "OU=Domain Controllers,DC=corp,DC=example",
      os: "Windows Server 2019 Standard",
    }),
  );
}

function server(
  estate: SampleEstate,
  spec: {
    name: string;
    ip: string;
    serial: string;
    os: typeof WS2019;
    updates?: string[];
    software?: [string, string][];
  },
): HostV1 {
  return estate.observe(
    agentReport({
      name: spec.name,
      ip: spec.ip,
      mac: `00:50:56:00:${spec.serial.slice(-4, -2).toLowerCase()}:${spec.serial.slice(-2).toLowerCase()}`,
      serial: spec.serial,
      time: "2024-03-12T05:00:00Z",
      type: "virtual",
      os: spec.os,
      ...(spec.updates ? { updates: spec.updates } : {}),
      ...(spec.software ? { software: spec.software } : {}),
      ports: [[443, "tcp", spec.os.type === "linux" ? "/usr/sbin/nginx" : "System"]],
      admins: [spec.os.type === "linux" ? "root" : "corp-localadmin"],
    }),
  );
}

// ------------------------------------------------------------------------------------------ IDS

const zerologon = (dest: string, timestamp: string, sid: 2030870 | 2030871) =>
  eveAlert({
    timestamp,
    src: "10.20.9.77",
    srcPort: 53410,
    dest,
    destPort: 49667,
    appProto: "dcerpc",
    sid,
    rev: 2,
    signature:
      sid === 2030870
        ? "ET EXPLOIT Possible Zerologon NetrServerReqChallenge with 0x00 Client Challenge (CVE-2020-1472)"
        : "ET EXPLOIT Possible Zerologon NetrServerAuthenticate with 0x00 Client Credentials (CVE-2020-1472)",
    category: "Attempted Administrator Privilege Gain",
    severity: 1,
    cves: ["CVE-2020-1472"],
  });

/**
 * A January 2024 Windows CVE that is not on the known-exploited list, in MSRC's CSAF style: the
 * demo's Zerologon document with another vulnerability in it (so it passes the same CSAF checks).
 */
function rdpClientCsaf(): string {
  const document = JSON.parse(
    readFileSync(join(EXAMPLES_DIR, "advisories", "csaf", "msrc_cve-2020-1472.json"), "utf8"),
  ) as {
    document: Record<string, unknown> & { tracking: Record<string, unknown>; references: unknown[] };
    vulnerabilities: Record<string, unknown>[];
  };
  const released = "2024-01-09T08:00:00.000Z";
  const title = "Remote Desktop Client Remote Code Execution Vulnerability";
  document.document.title = title;
  document.document.tracking = {
    ...document.document.tracking,
    id: "msrc_CVE-2024-21307",
    current_release_date: released,
    initial_release_date: released,
    generator: { date: released, engine: { name: "MSRC Generator", version: "1.0" } },
    revision_history: [
      { date: released, legacy_version: "1", number: "1", summary: "Information published." },
    ],
  };
  document.document.references = [
    {
      category: "self",
      summary: "CVE-2024-21307 Security Update Guide",
      url: "https://msrc.microsoft.com/update-guide/vulnerability/CVE-2024-21307",
    },
    {
      category: "self",
      summary: "URL for this CSAF document",
      url: "https://msrc.microsoft.com/csaf/advisories/2024/msrc_cve-2024-21307.json",
    },
  ];
  document.vulnerabilities = [
    {
      cve: "CVE-2024-21307",
      cwe: { id: "CWE-416", name: "Use After Free" },
      title,
      notes: [{ category: "description", text: title, title: "Description" }],
      product_status: { known_affected: ["11571"] },
      remediations: [
        {
          category: "vendor_fix",
          date: released,
          details: "5034127\nSecurity Update; Supersedes KB5033371",
          product_ids: ["11571"],
          url: "https://catalog.update.microsoft.com/v7/site/Search.aspx?q=KB5034127",
          restart_required: { category: "machine" },
        },
      ],
      scores: [
        {
          cvss_v3: {
            version: "3.1",
            vectorString: "CVSS:3.1/AV:N/AC:H/PR:N/UI:R/S:U/C:H/I:H/A:H",
            baseScore: 7.5,
            baseSeverity: "HIGH",
          },
          products: ["11571"],
        },
      ],
      threats: [
        { category: "impact", details: "Remote Code Execution", product_ids: ["11571"] },
        {
          category: "exploit_status",
          details: "Publicly Disclosed:No;Exploited:No;Latest Software Release:Exploitation Less Likely",
        },
      ],
    },
  ];
  return JSON.stringify(document);
}

function idsExploitZerologon(): ExampleEvent[] {
  const estate = new SampleEstate();
  const dc01 = domainController(estate, "dc01", "10.20.1.10", JULY_2020_CU);
  const dc02 = domainController(estate, "dc02", "10.20.1.11", ["KB4565349", ...JULY_2020_CU]);
  return [
    host(dc01),
    host(dc02),
    ...exampleAdvisories("csaf/msrc_cve-2020-1472.json").map(advisory),
    ...exampleAdvisories("kev.json")
      .filter((entry) => entry.cves.includes("CVE-2020-1472"))
      .map(advisory),
    // dc01 lacks KB4565349: both steps of the attack are findings, raised to critical (known exploited).
    ids(zerologon("10.20.1.10", "2024-03-12T09:50:10.295920+0100", 2030870)),
    ids(zerologon("10.20.1.10", "2024-03-12T09:50:17.570977+0100", 2030871)),
    // dc02 has the fix: the same attempt is no exploit of a vulnerable asset.
    ids(zerologon("10.20.1.11", "2024-03-12T09:52:03.120443+0100", 2030870)),
  ];
}

function idsExploitSupersededAndUnknown(): ExampleEvent[] {
  const estate = new SampleEstate();
  // Patched by a later cumulative update that supersedes KB4565349 (the advisory names the August one).
  const dc02 = domainController(estate, "dc02", "10.20.1.11", SEPT_2020_ON);
  const app03 = server(estate, {
    name: "app03",
    ip: "10.20.3.13",
    serial: "VMware-42 1a 0010",
    os: WS2019,
    updates: ["KB5033371", "KB5032196"],
  });
  return [
    host(dc02),
    host(app03),
    ...exampleAdvisories("csaf/msrc_cve-2020-1472.json").map(advisory),
    ...advisoryDocument(rdpClientCsaf()).map(advisory),
    ids(zerologon("10.20.1.11", "2024-03-12T09:52:03.120443+0100", 2030870)),
    // Not exploited in the wild: a finding at the alert's severity, not raised.
    ids(
      eveAlert({
        timestamp: "2024-03-12T10:14:40.518204+0100",
        src: "10.20.42.101",
        srcPort: 50771,
        dest: "10.20.3.13",
        destPort: 3389,
        appProto: "rdp",
        sid: 2050711,
        signature: "ET EXPLOIT Possible Remote Desktop Client RCE Attempt (CVE-2024-21307)",
        category: "Attempted User Privilege Gain",
        severity: 1,
        cves: ["CVE-2024-21307"],
      }),
    ),
    // An address no inventory knows: nothing to judge its patch level by.
    ids(zerologon("10.20.1.12", "2024-03-12T09:53:44.004512+0100", 2030870)),
  ];
}

// ------------------------------------------------------------------------- unmanaged addresses

function unmanagedAddresses(): ExampleEvent[] {
  const estate = new SampleEstate();
  const www01 = estate.observe(dnsRecord({ name: "www01", ip: "172.16.10.5", time: "2024-03-12T06:00:00Z" }));
  const ws004 = estate.observeAll(
    agentReport({
      name: "ws-004",
      ip: "10.20.40.24",
      mac: "d4:81:d7:00:17:3a",
      serial: "DE05A0B6",
      time: "2024-03-12T04:00:00Z",
      type: "desktop",
      os: WIN10,
      updates: ["KB5035845"],
    }),
    dhcpLease({ name: "ws-004", ip: "10.20.40.24", mac: "d4:81:d7:00:17:3a", time: "2024-03-12T01:00:00Z" }),
  );
  return [
    host(www01),
    host(ws004),
    // A managed workstation browsing: nothing to report.
    fw(
      "<166>Mar 12 2024 09:00:28 asa-edge-1 : %ASA-6-302013: Built outbound TCP connection 4005 for outside:93.184.216.34/443 (93.184.216.34/443) to inside:10.20.40.24/51004 (203.0.113.2/40004)",
    ),
    // An address no inventory knows, talking out: medium.
    fw(
      "<166>Mar 12 2024 09:41:02 asa-edge-1 : %ASA-6-302013: Built outbound TCP connection 4201 for outside:185.220.101.4/4444 (185.220.101.4/4444) to inside:10.20.9.77/49711 (203.0.113.2/49711)",
    ),
    // The same address again that day: already reported.
    fw(
      "<166>Mar 12 2024 09:42:00 asa-edge-1 : %ASA-6-302015: Built outbound UDP connection 4202 for outside:8.8.8.8/53 (8.8.8.8/53) to inside:10.20.9.77/53011 (203.0.113.2/53011)",
    ),
    // Denied probes of empty addresses prove nothing about them.
    fw(
      "<134>1 2024-03-12T09:44:01+00:00 pfsense-core filterlog 2101 - - 5,,,1000000103,igb1.20,match,block,in,4,0x0,,128,31077,0,DF,6,tcp,52,10.20.9.77,10.20.5.21,49801,445,0,S,3191800001,,64240,,mss;nop;wscale;nop;nop;sackOK",
    ),
    // The DMZ web server is known only to DNS: unmanaged, raised to medium by its high tier.
    fw(
      "<166>Mar 12 2024 09:30:00 asa-edge-1 : %ASA-6-302013: Built inbound TCP connection 4301 for outside:192.0.2.40/52000 (192.0.2.40/52000) to dmz:172.16.10.5/443 (172.16.10.5/443)",
    ),
    // The next day: the unknown address is reported again.
    fw(
      "<166>Mar 13 2024 08:02:11 asa-edge-1 : %ASA-6-302013: Built outbound TCP connection 5107 for outside:185.220.101.4/4444 (185.220.101.4/4444) to inside:10.20.9.77/49733 (203.0.113.2/49733)",
    ),
  ];
}

// ----------------------------------------------------------------------------------- audits

const fleet = (prefix: string, count: number, skip: (index: number) => boolean = () => false) =>
  Array.from({ length: count }, (_, index) => index + 1)
    .filter((index) => !skip(index))
    .map((index) => `host-${prefix}${index.toString(16).padStart(12, "0")}`);

function osqueryAudit(day: string, hostIds: string[], file = "osqueryd.results.log"): AuditV1 {
  return auditRecord({
    source: "osquery",
    format: "osquery",
    inputs: [`/var/log/osquery/${file}`],
    started: `${day}T06:00:00.000Z`,
    finished: `${day}T06:00:04.000Z`,
    hostIds,
    recordsRead: hostIds.length * 9,
    recordsInvalid: 0,
  });
}

function auditCounts(): ExampleEvent[] {
  const monday = osqueryAudit("2024-03-11", fleet("a0", 204));
  const tuesday = osqueryAudit(
    "2024-03-12",
    fleet("a0", 204, (index) => index === 17),
  );
  // A branch office's agents stopped reporting: 24 hosts (12%) gone.
  const wednesday = osqueryAudit(
    "2024-03-13",
    fleet("a0", 204, (index) => index === 17 || (index > 150 && index <= 173)),
  );
  const directory = auditRecord({
    source: "directory",
    format: "ad-csv",
    inputs: ["exports/ad-computers-20240313.csv"],
    started: "2024-03-13T06:10:00.000Z",
    finished: "2024-03-13T06:10:01.000Z",
    hostIds: fleet("d0", 211),
    recordsRead: 212,
    recordsInvalid: 1,
  });
  const directoryBefore = auditRecord({
    source: "directory",
    format: "ad-csv",
    inputs: ["exports/ad-computers-20240312.csv"],
    started: "2024-03-12T06:10:00.000Z",
    finished: "2024-03-12T06:10:01.000Z",
    hostIds: fleet("d0", 140),
    recordsRead: 141,
    recordsInvalid: 1,
  });
  return [
    audit(monday),
    // One host fewer: churn, not a defect.
    audit(tuesday),
    audit(directoryBefore),
    audit(wednesday),
    // Redelivered: no second finding.
    audit(wednesday),
    // The directory export of the same series grew by half: a jump (new accounts, or a wider export).
    audit(directory),
  ];
}

// ------------------------------------------------------------------------------------ agents

function silentAgents(): ExampleEvent[] {
  const estate = new SampleEstate();
  const lt017Report = agentReport({
    name: "lt-017",
    ip: "10.20.40.187",
    mac: "3c:22:fb:00:ba:41",
    serial: "LE05A51C",
    time: "2024-02-03T06:00:00Z",
    type: "laptop",
    os: WIN10,
    updates: ["KB5034122"],
  });
  const lt017Agent = estate.observe(lt017Report);
  // Five weeks later the laptop still takes a lease and logs on: on, but unmanaged.
  estate.observe(
    dhcpLease({ name: "lt-017", ip: "10.20.40.187", mac: "3c:22:fb:00:ba:41", time: "2024-03-12T00:13:00Z" }),
  );
  const lt017Now = estate.observe(
    directoryAccount({
      name: "lt-017",
      time: "2024-03-12T06:00:00Z",
      enabled: true,
      lastLogon: "2024-02-05T06:00:00Z",
      ou: "OU=Laptops,OU=Computers,DC=corp,DC=example",
    }),
  );
  const ws001 = estate.observe(
    agentReport({
      name: "ws-001",
      ip: "10.20.40.21",
      mac: "d4:81:d7:00:0f:21",
      serial: "DE05A06A",
      time: "2024-03-12T05:00:00Z",
      type: "desktop",
      os: WIN11,
      updates: ["KB5035853"],
    }),
  );
  // A server whose last state is from 1 March: no new state ever comes, only time passes.
  const app02 = server(estate, { name: "app02", ip: "10.20.3.12", serial: "VMware-42 1a 000f", os: WS2019 });
  const app02Old = { ...app02, time: "2024-03-01T05:00:00.000Z", last_seen: "2024-03-01T05:00:00.000Z" };
  app02Old.agent = { ...app02.agent!, last_seen: "2024-03-01T05:00:00.000Z" };
  app02Old.sources = app02.sources.map((seen) => ({
    ...seen,
    first_seen: "2024-03-01T05:00:00.000Z",
    last_seen: "2024-03-01T05:00:00.000Z",
  }));
  return [host(lt017Agent), host(app02Old), host(lt017Now), host(ws001), host(lt017Now)];
}

function agentsMissing(): ExampleEvent[] {
  const estate = new SampleEstate();
  // ConfigMgr knows the machine (a managed client) but no osquery agent has ever reported from it.
  const ws151 = estate.observeAll(
    managementExport({
      name: "ws-151",
      ip: "10.20.40.171",
      serial: "HP5A0C43",
      time: "2024-03-11T22:00:00Z",
      os: WIN11,
      type: "desktop",
    }),
    directoryAccount({
      name: "ws-151",
      time: "2024-03-12T06:00:00Z",
      enabled: true,
      lastLogon: "2024-03-11T07:40:00Z",
    }),
  );
  // The same in ConfigMgr, with an agent that reports: fine.
  const ws002 = estate.observeAll(
    managementExport({
      name: "ws-002",
      ip: "10.20.40.22",
      serial: "DE05A071",
      time: "2024-03-11T22:00:00Z",
      os: WIN10,
      type: "desktop",
    }),
    agentReport({
      name: "ws-002",
      ip: "10.20.40.22",
      mac: "d4:81:d7:00:10:5e",
      serial: "DE05A071",
      time: "2024-03-12T05:00:00Z",
      type: "desktop",
      os: WIN10,
      updates: ["KB5035845"],
    }),
  );
  return [host(ws151), host(ws002), host(ws151)];
}

// -------------------------------------------------------------------------- completeness

function directoryWithoutInventory(): ExampleEvent[] {
  const estate = new SampleEstate();
  const dev01 = estate.observeAll(
    directoryAccount({
      name: "dev01",
      time: "2024-03-12T06:00:00Z",
      enabled: true,
      lastLogon: "2024-03-09T06:00:00Z",
      ou: "OU=Servers,DC=corp,DC=example",
      os: "Windows Server 2022 Standard",
    }),
    dnsRecord({ name: "dev01", ip: "10.20.60.11", time: "2024-03-12T06:00:00Z" }),
  );
  const wsOld04 = estate.observe(
    directoryAccount({
      name: "ws-old-04",
      time: "2024-03-12T06:00:00Z",
      enabled: true,
      lastLogon: "2023-09-24T06:00:00Z",
      os: "Windows 10 Enterprise",
    }),
  );
  const wsOld01 = estate.observe(
    directoryAccount({
      name: "ws-old-01",
      time: "2024-03-12T06:00:00Z",
      enabled: false,
      lastLogon: "2023-11-23T06:00:00Z",
      os: "Windows 10 Enterprise",
    }),
  );
  const fs01 = estate.observeAll(
    agentReport({
      name: "fs01",
      ip: "10.20.2.15",
      mac: "b0:26:28:00:05:11",
      serial: "DE05A023",
      time: "2024-03-12T05:00:00Z",
      type: "server",
      os: WS2022,
    }),
    directoryAccount({
      name: "fs01",
      time: "2024-03-12T06:00:00Z",
      enabled: true,
      lastLogon: "2024-03-12T05:00:00Z",
      ou: "OU=Servers,DC=corp,DC=example",
    }),
  );
  return [host(dev01), host(wsOld04), host(wsOld01), host(fs01), host(dev01)];
}

function nameRegistrationWithoutInventory(): ExampleEvent[] {
  const estate = new SampleEstate();
  const prn01 = estate.observe(
    dnsRecord({ name: "prn-01", ip: "10.20.50.21", time: "2024-03-12T06:00:00Z" }),
  );
  // Its exception (EXC-2023-042) expired at the end of January: reported again.
  const prn02 = estate.observe(
    dnsRecord({ name: "prn-02", ip: "10.20.50.22", time: "2024-03-12T06:00:00Z" }),
  );
  const www01 = estate.observe(dnsRecord({ name: "www01", ip: "172.16.10.5", time: "2024-03-12T06:00:00Z" }));
  const lab = estate.observe(
    dnsRecord({ name: "ws-041", domain: "lab.example", ip: "10.30.0.41", time: "2024-03-12T06:00:00Z" }),
  );
  const phone = estate.observe(
    dhcpLease({
      name: "guest-phone",
      ip: "10.20.43.200",
      mac: "5a:1f:00:3c:9e:02",
      time: "2024-03-12T05:41:00Z",
    }),
  );
  const ws004 = estate.observeAll(
    agentReport({
      name: "ws-004",
      ip: "10.20.40.24",
      mac: "d4:81:d7:00:17:3a",
      serial: "DE05A0B6",
      time: "2024-03-12T04:00:00Z",
      type: "desktop",
      os: WIN10,
    }),
    dnsRecord({ name: "ws-004", ip: "10.20.40.24", time: "2024-03-12T06:00:00Z" }),
  );
  const app06 = server(estate, { name: "app06", ip: "10.20.3.16", serial: "VMware-42 1a 0013", os: UBUNTU });
  return [
    host(prn01),
    host(prn02),
    host(www01),
    host(lab),
    host(phone),
    host(ws004),
    host(app06),
    host(prn01),
  ];
}

// ------------------------------------------------------------------------------ updates

function wsusBlocked(): ExampleEvent[] {
  const server = exampleUpdateLog(
    "wsus01.corp.example/SoftwareDistribution.log",
    "wsus",
    "wsus01.corp.example",
  );
  const ws0101 = exampleUpdateLog(
    "clients/ws-0101.corp.example/WindowsUpdate.log",
    "windowsupdate",
    "ws-0101.corp.example",
  );
  const ws0102 = exampleUpdateLog(
    "clients/ws-0102.corp.example/WindowsUpdate.log",
    "windowsupdate",
    "ws-0102.corp.example",
  );
  const ws0110 = exampleUpdateLog(
    "clients/ws-0110.corp.example/WindowsUpdate.log",
    "windowsupdate",
    "ws-0110.corp.example",
  );
  // The first two days of the blockage (the clients' failures and the server's exceptions, the
  // healthy client's successful syncs), and the server's file version before and after the fix.
  const interesting = (event: ReturnType<typeof updateLog>[number]) =>
    event.signature?.id === "ms-954960-server-unfixed-version" ||
    event.signature?.id === "ms-954960-server-fix-installed" ||
    (event.time! < "2008-07-03" &&
      (event.signature !== undefined || (event.event_kind === "sync" && event.outcome !== "info")));
  return [...server, ...ws0101, ...ws0102, ...ws0110]
    .filter(interesting)
    .sort((a, b) => Date.parse(a.time!) - Date.parse(b.time!))
    .map(update);
}

function configMgrBlocked(): ExampleEvent[] {
  return exampleUpdateLog("sccm01.corp.example/Wsyncmgr.log", "wsyncmgr", "sccm01.corp.example")
    .filter((event) => event.event_kind === "sync" && event.outcome !== "info" && event.time! < "2008-06-20")
    .filter((event) => event.time! < "2008-06-13" || event.time! > "2008-06-18")
    .map(update);
}

/** A client's failing SyncUpdates call (advisory 954960), as WindowsUpdate.log writes it. */
function clientFailure(day: string, time: string, faultId: string): string {
  return [
    "WARNING: SyncUpdates failure, error = 0x8024400E, soap client error = 7, soap error code = 400, HTTP status code = 200",
    "WARNING: SOAP Fault: 0x000190",
    "WARNING: faultstring:Fault occurred",
    "WARNING: ErrorCode:InternalServerError(5)",
    "WARNING: Message:(null)",
    'WARNING: Method:"http://www.microsoft.com/SoftwareDistribution/Server/ClientWebService/SyncUpdates"',
    `WARNING: ID:${faultId}`,
    "WARNING: PTError: 0x8024400e",
  ]
    .map((text) => `${day}\t${time}\t 924\t 1c8\tPT\t${text}`)
    .join("\n");
}

function syncStart(day: string, time: string, server: string): string {
  return [
    "+++++++++++  PT: Synchronizing server updates  +++++++++++",
    `  + ServiceId = {3DA21691-E39D-4DA6-8A4B-B43877BCB1B7}, Server URL = http://${server}/ClientWebService/client.asmx`,
  ]
    .map((text) => `${day}\t${time}\t 924\t 1c8\tPT\t${text}`)
    .join("\n");
}

function detectionFinished(day: string, time: string, eventId: string): string {
  return `${day}\t${time}\t 924\t 1c8\tReport\tREPORT EVENT: {${eventId}}\t${day} ${time}+0900\t1\t147 [AGENT_DETECTION_FINISHED]\t101\t{00000000-0000-0000-0000-000000000000}\t0\t0\tAutomaticUpdates\tSuccess\tSoftware Synchronization\tWindows Update Client successfully detected 2 updates.`;
}

function clientLog(host: string, lines: string[]): ReturnType<typeof updateLog> {
  return updateLog(
    "windowsupdate",
    host,
    [
      "2008-07-01\t09:09:04:000\t 924\t 5c8\tMisc\t===========  Logging initialized (build: 7.2.6001.788, tz: +0900)  ===========",
      "2008-07-01\t09:09:04:030\t 924\t 5c8\tAgent\t  * WSUS server: http://wsus02.corp.example",
      ...lines,
    ].join("\n"),
  );
}

function wsusClearedBySyncs(): ExampleEvent[] {
  const ws0201 = clientLog("ws-0201.corp.example", [
    syncStart("2008-07-01", "09:15:33:120", "wsus02.corp.example"),
    clientFailure("2008-07-01", "09:15:36:421", "3f0d8a52-61c4-4e0b-9a7e-2c5d1b7f4e83"),
    syncStart("2008-07-02", "09:14:02:520", "wsus02.corp.example"),
    detectionFinished("2008-07-02", "09:14:08:104", "5B9E0C11-7A0D-4E55-9D0A-7C1E4E3A6B10"),
  ]);
  const ws0202 = clientLog("ws-0202.corp.example", [
    syncStart("2008-07-01", "09:21:10:004", "wsus02.corp.example"),
    clientFailure("2008-07-01", "09:21:14:760", "a81c4e07-2b9d-4f63-8e15-90d7c3f2b6a4"),
    syncStart("2008-07-02", "09:30:41:220", "wsus02.corp.example"),
    detectionFinished("2008-07-02", "09:30:47:880", "8C2F0D3E-1B6A-4C77-A2E9-5D0F3B7E9C21"),
  ]);
  const keep = (event: ReturnType<typeof updateLog>[number]) =>
    event.signature !== undefined || (event.event_kind === "sync" && event.outcome === "success");
  return [...ws0201, ...ws0202]
    .filter(keep)
    .sort((a, b) => Date.parse(a.time!) - Date.parse(b.time!))
    .map(update);
}

function wsusClearedByInventory(): ExampleEvent[] {
  const estate = new SampleEstate();
  const dll =
    "C:\\Program Files\\Update Services\\WebServices\\ClientWebService\\bin\\Microsoft.UpdateServices.WebServices.Client.Dll";
  const before = estate.observe(
    agentReport({
      name: "wsus02",
      ip: "10.20.1.32",
      mac: "00:50:56:00:00:2e",
      serial: "VMware-42 1a 0032",
      time: "2008-07-01T00:00:00Z",
      type: "virtual",
      os: WS2008R2,
      files: [{ path: dll, version: "3.1.6001.65" }],
    }),
  );
  const after = estate.observe(
    agentReport({
      name: "wsus02",
      ip: "10.20.1.32",
      mac: "00:50:56:00:00:2e",
      serial: "VMware-42 1a 0032",
      time: "2008-07-04T02:00:00Z",
      type: "virtual",
      os: WS2008R2,
      files: [{ path: dll, version: "3.1.6001.66" }],
    }),
  );
  const failures = clientLog("ws-0201.corp.example", [
    syncStart("2008-07-01", "09:15:33:120", "wsus02.corp.example"),
    clientFailure("2008-07-01", "09:15:36:421", "3f0d8a52-61c4-4e0b-9a7e-2c5d1b7f4e83"),
    syncStart("2008-07-02", "09:16:10:310", "wsus02.corp.example"),
    clientFailure("2008-07-02", "09:16:12:058", "c27e91d4-0a3b-4f8c-b6d2-7e4a15f9c30b"),
    syncStart("2008-07-05", "09:17:38:902", "wsus02.corp.example"),
    clientFailure("2008-07-05", "09:17:40:877", "e4b3c6f1-95d2-47a0-8c1e-3f6b2a9d0c57"),
  ]).filter((event) => event.signature !== undefined);
  return [host(before), ...failures.slice(0, 2).map(update), host(after), ...failures.slice(2).map(update)];
}

// ----------------------------------------------------------------------------- advisories

function advisoryZerologon(): ExampleEvent[] {
  const estate = new SampleEstate();
  const dc01 = domainController(estate, "dc01", "10.20.1.10", JULY_2020_CU);
  const dc02 = domainController(estate, "dc02", "10.20.1.11", ["KB4565349", ...JULY_2020_CU]);
  const app03 = server(estate, {
    name: "app03",
    ip: "10.20.3.13",
    serial: "VMware-42 1a 0010",
    os: WS2019,
    updates: JULY_2020_CU,
  });
  const ws001 = estate.observe(
    agentReport({
      name: "ws-001",
      ip: "10.20.40.21",
      mac: "d4:81:d7:00:0f:21",
      serial: "DE05A06A",
      time: "2024-03-12T05:00:00Z",
      type: "desktop",
      os: WIN11,
    }),
  );
  return [
    host(dc01),
    host(dc02),
    host(app03),
    host(ws001),
    // dc01 (critical) and app03 (medium) lack the fix: one finding, weight 8 + 2.
    ...exampleAdvisories("csaf/msrc_cve-2020-1472.json").map(advisory),
    // The same CVE from the KEV catalog and NVD: same hosts, already known exploited: nothing new.
    ...exampleAdvisories("kev.json")
      .filter((entry) => entry.cves.includes("CVE-2020-1472"))
      .map(advisory),
    // MS17-010 affects none of these Windows versions.
    ...exampleAdvisories("csaf/msrc_cve-2017-0144.json").map(advisory),
  ];
}

function advisoryNotExploited(): ExampleEvent[] {
  const estate = new SampleEstate();
  const app03 = server(estate, {
    name: "app03",
    ip: "10.20.3.13",
    serial: "VMware-42 1a 0010",
    os: WS2019,
    updates: ["KB5033371"],
  });
  const app04 = server(estate, {
    name: "app04",
    ip: "10.20.3.14",
    serial: "VMware-42 1a 0011",
    os: WS2019,
    updates: ["KB5034127"],
  });
  const wsus01 = server(estate, {
    name: "wsus01",
    ip: "10.20.1.30",
    serial: "VMware-42 1a 0003",
    os: WS2008R2,
  });
  return [host(app03), host(app04), host(wsus01), ...advisoryDocument(rdpClientCsaf()).map(advisory)];
}

// ------------------------------------------------------------------------- IDS over the demo

/** The demo morning's alerts (examples/suricata/eve.json) whose signature titles match. */
function demoAlerts(...titles: RegExp[]): ExampleEvent[] {
  return exampleIdsAlerts(["eve.json"])
    .filter(
      (event) =>
        event.kind === "ids.alert" && titles.some((title) => title.test(event.value.finding_info.title)),
    )
    .filter((event, index, all) => all.findIndex((other) => other.value.id === event.value.id) === index);
}

function idsPriorityAssets(): ExampleEvent[] {
  return demoAlerts(
    // www01 (high tier): the Log4Shell attempts, high and critical.
    /log4j RCE Attempt \(http ldap\) \(Inbound\)/,
    // fs01 (high) and dc01 (critical): EternalBlue, critical; the echo response names the attacking workstation (low tier).
    /ETERNALBLUE/,
    // dc01: Zerologon, high, raised to critical on a critical-tier asset.
    /Zerologon NetrServerReqChallenge/,
    // dc02 (critical) but low severity: RDP administrator logins.
    /Remote Desktop Administrator Login/,
    // A low-tier workstation: a critical beacon is another rule's.
    /Cobalt Strike Beacon/,
  );
}

function idsCriticalAnyAsset(): ExampleEvent[] {
  return demoAlerts(/Cobalt Strike Beacon/, /ETERNALBLUE MS17-010 Heap Spray/, /JA3 Hash/);
}

// ------------------------------------------------------------------------- baselines and policy

function windowsWorkstation(
  estate: SampleEstate,
  spec: {
    name: string;
    ip: string;
    serial: string;
    mac: string;
    time: string;
    os?: typeof WIN10;
    updates?: string[];
    chrome?: string;
    extraSoftware?: [string, string][];
    extraPorts?: [number, "tcp" | "udp", string][];
    admins?: string[];
    signatures?: { date: string; upToDate: boolean };
  },
): HostV1 {
  return estate.observe(
    agentReport({
      name: spec.name,
      ip: spec.ip,
      mac: spec.mac,
      serial: spec.serial,
      time: spec.time,
      type: "desktop",
      os: spec.os ?? WIN10,
      updates: spec.updates ?? ["KB5035845", "KB5034763", "KB5034122"],
      software: [
        ["Microsoft Edge", "122.0.2365.80"],
        ["Google Chrome", spec.chrome ?? "122.0.6261.112"],
        ["Microsoft 365 Apps for enterprise - en-us", "16.0.17231.20236"],
        ["7-Zip 23.01 (x64)", "23.01"],
        ["osquery", "5.11.0"],
        ...(spec.extraSoftware ?? []),
      ],
      ports: [
        [135, "tcp", "C:\\Windows\\system32\\svchost.exe"],
        [445, "tcp", "System"],
        ...(spec.extraPorts ?? []),
      ],
      admins: spec.admins ?? ["corp-localadmin"],
      antivirus: {
        product: "Microsoft Defender Antivirus",
        enabled: true,
        up_to_date: spec.signatures?.upToDate ?? true,
        signature_date: spec.signatures?.date ?? "2024-03-11 05:00:00",
        state: "On",
      },
    }),
  );
}

function legacyPayroll(estate: SampleEstate, time: string): HostV1 {
  return estate.observeAll(
    managementExport({
      name: "ws-pay01",
      ip: "10.20.5.40",
      serial: "DE05A3F2",
      time,
      os: XP,
      type: "desktop",
      roles: { business_critical: true, tags: ["business-critical", "payroll", "baseline-exception"] },
    }),
    agentReport({
      name: "ws-pay01",
      ip: "10.20.5.40",
      mac: "d4:81:d7:00:3f:12",
      serial: "DE05A3F2",
      time,
      type: "desktop",
      os: XP,
      updates: ["KB2926765", "KB4012598"],
      software: [
        ["Microsoft Office Professional Edition 2003", "11.0.8173.0"],
        ["PayLink Dialer", "4.2.1"],
        ["osquery", "5.11.0"],
      ],
      ports: [
        [135, "tcp", "C:\\WINDOWS\\system32\\svchost.exe"],
        [445, "tcp", "System"],
      ],
      admins: ["Administrator"],
      antivirus: { state: "Not Monitored" },
    }),
  );
}

function baselineEstate(): { estate: SampleEstate; events: ExampleEvent[] } {
  const estate = new SampleEstate();
  const dc01 = domainController(estate, "dc01", "10.20.1.10", ["KB5035849", "KB5034768"]);
  const dc02 = domainController(estate, "dc02", "10.20.1.11", ["KB5034768", "KB5034127"]);
  const ws001 = windowsWorkstation(estate, {
    name: "ws-001",
    ip: "10.20.40.21",
    serial: "DE05A06A",
    mac: "d4:81:d7:00:0f:21",
    time: "2024-03-12T05:00:00Z",
  });
  const ws017 = windowsWorkstation(estate, {
    name: "ws-017",
    ip: "10.20.40.37",
    serial: "HP5A0137",
    mac: "d4:81:d7:00:1f:37",
    time: "2024-03-11T12:00:00Z",
    updates: ["KB5034763", "KB5034122"],
    signatures: { date: "2024-03-02 12:00:00", upToDate: false },
  });
  const ws034 = windowsWorkstation(estate, {
    name: "ws-034",
    ip: "10.20.40.54",
    serial: "LE5A0154",
    mac: "d4:81:d7:00:2e:54",
    time: "2024-03-12T02:00:00Z",
    os: { ...WIN10, version: "10.0.19044", build: "19044" },
    updates: ["KB5034763", "KB5034122"],
  });
  const ws029 = windowsWorkstation(estate, {
    name: "ws-029",
    ip: "10.20.40.49",
    serial: "DE05A14B",
    mac: "d4:81:d7:00:27:49",
    time: "2024-03-11T20:00:00Z",
    chrome: "123.0.6312.59",
    extraSoftware: [["UltraVNC", "1.4.3.6"]],
    extraPorts: [[5900, "tcp", "C:\\Program Files\\uvnc bvba\\UltraVNC\\winvnc.exe"]],
    admins: ["corp-localadmin", "helpdesk-temp"],
  });
  const lt013 = windowsWorkstation(estate, {
    name: "lt-013",
    ip: "10.20.40.183",
    serial: "LE05A51A",
    mac: "3c:22:fb:00:b6:13",
    time: "2024-03-12T04:10:00Z",
    extraSoftware: [["AnyDesk", "8.0.8"]],
  });
  const fs02 = estate.observe(
    agentReport({
      name: "fs02",
      ip: "10.20.2.16",
      mac: "b0:26:28:00:06:16",
      serial: "DE05A02A",
      time: "2024-03-12T05:00:00Z",
      type: "server",
      os: WS2022,
      updates: ["KB5035857", "KB5035942"],
      ports: [
        [135, "tcp", "C:\\Windows\\system32\\svchost.exe"],
        [445, "tcp", "System"],
      ],
      admins: ["corp-localadmin"],
      antivirus: {
        product: "Microsoft Defender Antivirus",
        enabled: true,
        up_to_date: true,
        signature_date: "2024-03-11 05:00:00",
        state: "On",
      },
    }),
  );
  return {
    estate,
    events: [dc01, dc02, ws001, ws017, ws034, ws029, lt013, fs02].map(host),
  };
}

function baselineAndExceptions(): ExampleEvent[] {
  const { estate, events } = baselineEstate();
  // The payroll workstation while its exception holds, then after it expired (30 June).
  const payrollMarch = legacyPayroll(estate, "2024-03-12T03:00:00Z");
  const payrollJuly = legacyPayroll(estate, "2024-07-02T03:00:00Z");
  return [...events, host(payrollMarch), host(payrollJuly)];
}

// ------------------------------------------------------------------------------ firewall

function firewallPorts(): ExampleEvent[] {
  const estate = new SampleEstate();
  const dc01 = domainController(estate, "dc01", "10.20.1.10", ["KB5035849"]);
  const payroll01 = estate.observeAll(
    managementExport({
      name: "payroll01",
      ip: "10.20.5.20",
      serial: "DE05A01C",
      time: "2024-03-11T23:00:00Z",
      os: WS2019,
      type: "server",
      roles: { business_critical: true, tags: ["business-critical", "payroll", "pii"] },
    }),
    agentReport({
      name: "payroll01",
      ip: "10.20.5.20",
      mac: "b0:26:28:00:07:20",
      serial: "DE05A01C",
      time: "2024-03-12T05:00:00Z",
      type: "server",
      os: WS2019,
      updates: ["KB5035849"],
      ports: [
        [135, "tcp", "C:\\Windows\\system32\\svchost.exe"],
        [443, "tcp", "System"],
        [445, "tcp", "System"],
        [
          1433,
          "tcp",
          "C:\\Program Files\\Microsoft SQL Server\\MSSQL15.MSSQLSERVER\\MSSQL\\Binn\\sqlservr.exe",
        ],
      ],
      admins: ["corp-localadmin"],
    }),
  );
  const www01 = estate.observeAll(
    dnsRecord({ name: "www01", ip: "172.16.10.5", time: "2024-03-12T06:00:00Z" }),
    // The management system's export names the DMZ web server's role.
    managementExport({
      name: "www01",
      ip: "172.16.10.5",
      serial: "VMware-42 1a 0101",
      time: "2024-03-11T23:00:00Z",
      os: UBUNTU,
      type: "virtual",
      roles: { tags: ["dmz", "web"] },
    }),
  );
  return [
    host(dc01),
    host(payroll01),
    host(www01),
    // RDP and SMB from the internet accepted by the DMZ web server: its class allows 80 and 443 only.
    fw(
      "<166>Mar 12 2024 09:20:04 asa-edge-1 : %ASA-6-302013: Built inbound TCP connection 4401 for outside:203.0.113.77/50122 (203.0.113.77/50122) to dmz:172.16.10.5/3389 (172.16.10.5/3389)",
    ),
    fw(
      "<166>Mar 12 2024 09:21:09 asa-edge-1 : %ASA-6-302013: Built inbound TCP connection 4402 for outside:203.0.113.77/50140 (203.0.113.77/50140) to dmz:172.16.10.5/445 (172.16.10.5/445)",
    ),
    // The same RDP session seen again that day: one finding per destination and port per day.
    fw(
      "<166>Mar 12 2024 09:35:41 asa-edge-1 : %ASA-6-302013: Built inbound TCP connection 4410 for outside:203.0.113.77/50188 (203.0.113.77/50188) to dmz:172.16.10.5/3389 (172.16.10.5/3389)",
    ),
    // HTTPS to the web server: allowed by its class.
    fw(
      "<166>Mar 12 2024 09:30:00 asa-edge-1 : %ASA-6-302013: Built inbound TCP connection 4403 for outside:192.0.2.40/52000 (192.0.2.40/52000) to dmz:172.16.10.5/443 (172.16.10.5/443)",
    ),
    // The payroll application reached on 8443, which its class does not allow.
    fw(
      "<134>1 2024-03-12T09:44:30+00:00 pfsense-core filterlog 2101 - - 6,,,1000001305,igb1.20,match,pass,in,4,0x0,,127,31101,0,DF,6,tcp,52,10.20.9.77,10.20.5.20,49830,8443,0,S,3191800031,,64240,,mss;nop;wscale;nop;nop;sackOK",
    ),
    // LDAP to a domain controller: allowed.
    fw(
      "<134>1 2024-03-12T09:02:02+00:00 pfsense-core filterlog 2101 - - 6,,,1000001201,igb1.10,match,pass,in,4,0x0,,128,30211,0,DF,6,tcp,52,10.20.41.32,10.20.1.10,55002,389,0,S,3191700002,,64240,,mss;nop;wscale;nop;nop;sackOK",
    ),
    // Denied traffic is the firewall doing its job.
    fw(
      "<134>1 2024-03-12T09:47:12+00:00 pfsense-core filterlog 2101 - - 5,,,1000000103,igb1.20,match,block,in,4,0x0,,128,31177,0,DF,6,tcp,52,10.20.43.201,10.20.5.20,51777,3389,0,S,3191800091,,64240,,mss;nop;wscale;nop;nop;sackOK",
    ),
  ];
}

function exampleFirewall(file: string): ExampleEvent[] {
  return readFileSync(join(EXAMPLES_DIR, "firewall", file), "utf8")
    .split("\n")
    .filter((line) => line.trim() !== "")
    .flatMap((line) => {
      try {
        return [fw(line)];
      } catch {
        return [];
      }
    });
}

function firewallScans(): ExampleEvent[] {
  // The demo morning at the perimeter and between the VLANs, in time order.
  return [
    ...exampleFirewall("asa.log"),
    ...exampleFirewall("pfsense.log"),
    ...exampleFirewall("iptables.log"),
  ].sort((a, b) => (a.value as { time: number }).time - (b.value as { time: number }).time);
}

/** A pfSense block of a TCP SYN, as filterlog writes it. */
function pfsenseBlock(
  time: string,
  src: string,
  srcPort: number,
  dst: string,
  dstPort: number,
  ipId: number,
): string {
  return `<134>1 ${time}+00:00 pfsense-core filterlog 2101 - - 5,,,1000000103,igb1.20,match,block,in,4,0x0,,128,${ipId},0,DF,6,tcp,52,${src},${dst},${srcPort},${dstPort},0,S,${3191800000 + ipId},,64240,,mss;nop;wscale;nop;nop;sackOK`;
}

function deniedBurst(): ExampleEvent[] {
  const second = (start: number, offset: number) => {
    const total = start + offset;
    return `2024-03-12T09:${String(47 + Math.floor(total / 60)).padStart(2, "0")}:${String(total % 60).padStart(2, "0")}`;
  };
  // A workstation hammering RDP on the payroll server: 32 blocked connections in 40 seconds,
  // one port, one address (neither a port scan nor a sweep).
  const hammering = Array.from({ length: 32 }, (_, index) =>
    fw(
      pfsenseBlock(
        second(12, Math.floor(index * 1.25)),
        "10.20.43.201",
        51777 + index,
        "10.20.5.20",
        3389,
        31177 + index,
      ),
    ),
  );
  // Another workstation retrying a closed share 25 times in 50 seconds: below the threshold, even
  // with ten of its events delivered twice (a consumer restart is not ten more connections).
  const retrying = Array.from({ length: 25 }, (_, index) =>
    fw(pfsenseBlock(second(30, index * 2), "10.20.42.18", 50300 + index, "10.20.2.15", 139, 42001 + index)),
  );
  return [...hammering, ...retrying, ...retrying.slice(5, 15)].sort(
    (a, b) => (a.value as { time: number }).time - (b.value as { time: number }).time,
  );
}

function quarantinedSource(): ExampleEvent[] {
  return [
    // Outbound to a known Tor exit on 4444, allowed by the perimeter: the quarantine does not hold.
    fw(
      "<166>Mar 12 2024 09:41:02 asa-edge-1 : %ASA-6-302013: Built outbound TCP connection 4201 for outside:185.220.101.4/4444 (185.220.101.4/4444) to inside:10.20.9.77/49711 (203.0.113.2/49711)",
    ),
    // More traffic within the hour: the same incident.
    fw(
      "<166>Mar 12 2024 09:42:00 asa-edge-1 : %ASA-6-302015: Built outbound UDP connection 4202 for outside:8.8.8.8/53 (8.8.8.8/53) to inside:10.20.9.77/53011 (203.0.113.2/53011)",
    ),
    // Denied by the server VLAN two hours later: still on the network and trying.
    fw(
      "<134>1 2024-03-12T11:44:00+00:00 pfsense-core filterlog 2101 - - 5,,,1000000103,igb1.20,match,block,in,4,0x0,,128,31077,0,DF,6,tcp,52,10.20.9.77,10.20.5.20,49800,445,0,S,3191800000,,64240,,mss;nop;wscale;nop;nop;sackOK",
    ),
    // Another host's traffic is none of this rule's business.
    fw(
      "<166>Mar 12 2024 09:00:00 asa-edge-1 : %ASA-6-302013: Built outbound TCP connection 4001 for outside:93.184.216.34/443 (93.184.216.34/443) to inside:10.20.40.20/51000 (203.0.113.2/40000)",
    ),
  ];
}

/** Events of every generated test file, by path relative to the pack root. */
export const sampleFiles: Record<string, () => ExampleEvent[]> = {
  "tests/ids-exploit-vulnerable-asset/zerologon.jsonl": idsExploitZerologon,
  "tests/ids-exploit-vulnerable-asset/superseded-and-unknown.jsonl": idsExploitSupersededAndUnknown,
  "tests/inventory-unmanaged-address/traffic.jsonl": unmanagedAddresses,
  "tests/inventory-audit-count-change/osquery-and-directory.jsonl": auditCounts,
  "tests/agent-silent/laptop-and-server.jsonl": silentAgents,
  "tests/agent-install-failed/configmgr-without-agent.jsonl": agentsMissing,
  "tests/inventory-directory-without-inventory/accounts.jsonl": directoryWithoutInventory,
  "tests/inventory-dns-without-inventory/registrations.jsonl": nameRegistrationWithoutInventory,
  "tests/updates-distribution-blocked/wsus-954960.jsonl": wsusBlocked,
  "tests/updates-distribution-blocked/configmgr-954474.jsonl": configMgrBlocked,
  "tests/updates-distribution-blocked/cleared-by-client-syncs.jsonl": wsusClearedBySyncs,
  "tests/updates-distribution-blocked/cleared-by-inventory.jsonl": wsusClearedByInventory,
  "tests/advisory-affects-inventory/zerologon.jsonl": advisoryZerologon,
  "tests/advisory-affects-inventory/not-exploited.jsonl": advisoryNotExploited,
  "tests/ids-high-severity-priority-asset/demo-morning.jsonl": idsPriorityAssets,
  "tests/ids-critical-alert/demo-morning.jsonl": idsCriticalAnyAsset,
  "tests/baseline/corp-estate.jsonl": baselineAndExceptions,
  "tests/firewall-port-not-allowed/dmz-and-payroll.jsonl": firewallPorts,
  "tests/firewall-scans/demo-morning.jsonl": firewallScans,
  "tests/firewall-quarantined-source/isolated-workstation.jsonl": quarantinedSource,
  "tests/firewall-denied-burst/rdp-hammering.jsonl": deniedBurst,
};
