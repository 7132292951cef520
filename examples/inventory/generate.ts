/**
 * Generates the example estate (see README.md): deterministic, so `node examples/inventory/generate.ts`
 * rewrites the same files byte for byte. The audit "now" is 2024-03-12 (the IDS samples' morning).
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";

const OUT = import.meta.dirname;
const NOW = Date.parse("2024-03-12T06:00:00Z");
const DAY = 86_400_000;

/** mulberry32: small, seedable, good enough for sample data. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const rand = random(20240312);
const pick = <T>(items: readonly T[]): T => items[Math.floor(rand() * items.length)]!;
const hex = (n: number, width: number) => n.toString(16).padStart(width, "0");

type Class =
  | "dc"
  | "file-server"
  | "app-server"
  | "payroll"
  | "wsus"
  | "sccm"
  | "workstation"
  | "laptop"
  | "legacy-payroll"
  | "dmz"
  | "dev"
  | "printer"
  | "stale";
interface Host {
  name: string;
  domain: string;
  class: Class;
  ip: string;
  mac?: string;
  serial?: string;
  uuid?: string;
  os?: { name: string; version: string; build: string; sp?: string; platform: "windows" | "ubuntu" };
  chassis?: number;
  vendor?: string;
  model?: string;
  /** Has an osquery agent; last report time. */
  agentLastSeen?: number;
  inConfigMgr?: boolean;
  inDirectory?: boolean;
  directoryEnabled?: boolean;
  lastLogon?: number;
  inDns?: boolean;
  dhcp?: boolean;
  roles?: string[];
  tags?: string[];
  link?: string;
  remote?: boolean;
  baseline?: "below" | "at" | "above";
  note?: string;
}

const WIN11 = {
  name: "Microsoft Windows 11 Enterprise",
  version: "10.0.22631",
  build: "22631",
  platform: "windows" as const,
};
const WIN10 = {
  name: "Microsoft Windows 10 Enterprise",
  version: "10.0.19045",
  build: "19045",
  platform: "windows" as const,
};
const WIN10_OLD = {
  name: "Microsoft Windows 10 Enterprise",
  version: "10.0.19044",
  build: "19044",
  platform: "windows" as const,
};
const WS2019 = {
  name: "Microsoft Windows Server 2019 Standard",
  version: "10.0.17763",
  build: "17763",
  platform: "windows" as const,
};
const WS2022 = {
  name: "Microsoft Windows Server 2022 Standard",
  version: "10.0.20348",
  build: "20348",
  platform: "windows" as const,
};
const WS2008 = {
  name: "Microsoft Windows Server 2008 R2 Standard",
  version: "6.1.7601",
  build: "7601",
  sp: "Service Pack 1",
  platform: "windows" as const,
};
const XP = {
  name: "Microsoft Windows XP Professional",
  version: "5.1.2600",
  build: "2600",
  sp: "Service Pack 3",
  platform: "windows" as const,
};
const UBUNTU = {
  name: "Ubuntu",
  version: "22.04.4 LTS (Jammy Jellyfish)",
  build: "",
  platform: "ubuntu" as const,
};

let serialCounter = 0;
function hardware(
  kind: "server" | "desktop" | "laptop" | "vm",
): Pick<Host, "serial" | "uuid" | "mac" | "chassis" | "vendor" | "model"> {
  serialCounter += 1;
  const uuid =
    `${hex(Math.floor(rand() * 2 ** 32), 8)}-${hex(serialCounter, 4)}-4${hex(Math.floor(rand() * 4096), 3)}-a${hex(Math.floor(rand() * 4096), 3)}-${hex(Math.floor(rand() * 2 ** 32), 8)}${hex(serialCounter, 4)}`.toUpperCase();
  const mac = `00:50:56:${hex(serialCounter >> 8, 2)}:${hex(serialCounter & 255, 2)}:${hex(Math.floor(rand() * 256), 2)}`;
  if (kind === "vm")
    return {
      serial: `VMware-42 1a ${hex(serialCounter, 4)}`,
      uuid,
      mac,
      chassis: 1,
      vendor: "VMware, Inc.",
      model: "VMware Virtual Platform",
    };
  const vendor = kind === "server" ? "Dell Inc." : pick(["Dell Inc.", "HP", "LENOVO"]);
  const model =
    kind === "server"
      ? "PowerEdge R650"
      : kind === "laptop"
        ? pick(["Latitude 5440", "EliteBook 840 G9", "ThinkPad T14 Gen 3"])
        : pick(["OptiPlex 7010", "EliteDesk 800 G6", "ThinkCentre M70q"]);
  const macPrefix = kind === "laptop" ? "3c:22:fb" : kind === "server" ? "b0:26:28" : "d4:81:d7";
  return {
    serial: `${vendor.slice(0, 2).toUpperCase()}${hex(0x5a000 + serialCounter * 7, 6).toUpperCase()}`,
    uuid,
    mac: `${macPrefix}:${hex(serialCounter >> 8, 2)}:${hex(serialCounter & 255, 2)}:${hex(Math.floor(rand() * 256), 2)}`,
    chassis: kind === "server" ? 23 : kind === "laptop" ? pick([9, 10]) : pick([3, 13, 35]),
    vendor,
    model,
  };
}

const hosts: Host[] = [];
const add = (host: Host) => hosts.push(host);
const fresh = (hoursAgo: number) => NOW - hoursAgo * 3_600_000;

// Domain controllers (match examples/assets/priority-list.yaml).
add({
  name: "dc01",
  domain: "corp.example",
  class: "dc",
  ip: "10.20.1.10",
  os: WS2019,
  ...hardware("server"),
  agentLastSeen: fresh(1),
  inConfigMgr: true,
  inDirectory: true,
  inDns: true,
  roles: ["DC", "SchemaMaster", "DomainNamingMaster", "PDCEmulator"],
  tags: ["domain-controller", "dns"],
  baseline: "at",
});
add({
  name: "dc02",
  domain: "corp.example",
  class: "dc",
  ip: "10.20.1.11",
  os: WS2019,
  ...hardware("server"),
  agentLastSeen: fresh(1),
  inConfigMgr: true,
  inDirectory: true,
  inDns: true,
  roles: ["DC", "RIDMaster", "InfrastructureMaster"],
  tags: ["domain-controller", "dns"],
  baseline: "below",
  note: "domain controller missing the February cumulative update",
});
add({
  name: "wsus01",
  domain: "corp.example",
  class: "wsus",
  ip: "10.20.1.30",
  os: WS2008,
  ...hardware("vm"),
  agentLastSeen: fresh(2),
  inConfigMgr: true,
  inDirectory: true,
  inDns: true,
  tags: ["wsus-server"],
  baseline: "at",
  note: "WSUS 3.0 SP1 server of advisory 954960: Microsoft.UpdateServices.WebServices.Client.Dll 3.1.6000.273, then 3.1.6001.66 after the fix",
});
add({
  name: "sccm01",
  domain: "corp.example",
  class: "sccm",
  ip: "10.20.1.31",
  os: WS2008,
  ...hardware("vm"),
  agentLastSeen: fresh(2),
  inConfigMgr: true,
  inDirectory: true,
  inDns: true,
  tags: ["configmgr-site-server"],
  baseline: "at",
  note: "ConfigMgr 2007 site server of advisory 954474",
});
add({
  name: "fs01",
  domain: "corp.example",
  class: "file-server",
  ip: "10.20.2.15",
  os: WS2022,
  ...hardware("server"),
  agentLastSeen: fresh(1),
  inConfigMgr: true,
  inDirectory: true,
  inDns: true,
  tags: ["file-server"],
  baseline: "at",
});
add({
  name: "fs02",
  domain: "corp.example",
  class: "file-server",
  ip: "10.20.2.16",
  os: WS2022,
  ...hardware("server"),
  agentLastSeen: fresh(1),
  inConfigMgr: true,
  inDirectory: true,
  inDns: true,
  tags: ["file-server"],
  baseline: "above",
  note: "file server with a preview update not approved for the baseline",
});
add({
  name: "payroll01",
  domain: "corp.example",
  class: "payroll",
  ip: "10.20.5.20",
  os: WS2019,
  ...hardware("server"),
  agentLastSeen: fresh(1),
  inConfigMgr: true,
  inDirectory: true,
  inDns: true,
  tags: ["business-critical", "payroll", "pii"],
  baseline: "at",
  note: "business-critical payroll server (maintenance window Sunday 02:00-04:00)",
});
for (let index = 1; index <= 6; index++) {
  const linux = index >= 5;
  add({
    name: `app${String(index).padStart(2, "0")}`,
    domain: "corp.example",
    class: "app-server",
    ip: `10.20.3.${10 + index}`,
    os: linux ? UBUNTU : WS2019,
    ...hardware("vm"),
    agentLastSeen: fresh(1),
    inConfigMgr: !linux,
    inDirectory: !linux,
    inDns: true,
    tags: ["application-server"],
    baseline: index === 3 ? "below" : "at",
    ...(index === 3 ? { note: "application server two cumulative updates behind" } : {}),
  });
}
// DMZ: deliberately unmanaged (no agent, not in the domain), only DNS knows them.
add({
  name: "www01",
  domain: "corp.example",
  class: "dmz",
  ip: "172.16.10.5",
  inDns: true,
  tags: ["dmz", "internet-facing"],
  note: "public web server in the DMZ: unmanaged, only a name and an address are known",
});
add({
  name: "www02",
  domain: "corp.example",
  class: "dmz",
  ip: "172.16.10.6",
  inDns: true,
  tags: ["dmz"],
  note: "DMZ reverse proxy: unmanaged",
});
add({
  name: "mail-relay",
  domain: "corp.example",
  class: "dmz",
  ip: "172.16.10.25",
  inDns: true,
  tags: ["dmz"],
});
// Test and development: in the directory and DNS, excluded from management.
for (let index = 1; index <= 4; index++)
  add({
    name: `dev${String(index).padStart(2, "0")}`,
    domain: "corp.example",
    class: "dev",
    ip: `10.20.60.${10 + index}`,
    os: WS2022,
    inDirectory: true,
    directoryEnabled: true,
    lastLogon: NOW - index * 3 * DAY,
    inDns: true,
    tags: ["test-dev"],
    note: "test/development server, excluded from management: unmanaged",
  });
// Printers: DNS only.
for (let index = 1; index <= 6; index++)
  add({
    name: `prn-${String(index).padStart(2, "0")}`,
    domain: "corp.example",
    class: "printer",
    ip: `10.20.50.${20 + index}`,
    inDns: true,
  });
// Stale directory accounts: machines long gone (or never managed), known only to AD.
for (let index = 1; index <= 5; index++)
  add({
    name: `ws-old-${String(index).padStart(2, "0")}`,
    domain: "corp.example",
    class: "stale",
    ip: "",
    os: WIN10_OLD,
    inDirectory: true,
    directoryEnabled: index > 2,
    lastLogon: NOW - (90 + index * 20) * DAY,
    note: "computer account without an agent or a DNS record: known only to the directory",
  });

// Workstations in 10.20.40.0/22 (DHCP), laptops too; a few laptops work remotely over VPN.
let workstationAddress = 20;
const nextWorkstationIp = () => {
  const offset = workstationAddress++;
  return `10.20.${40 + Math.floor(offset / 250)}.${(offset % 250) + 1}`;
};
for (let index = 1; index <= 150; index++) {
  const name = `ws-${String(index).padStart(3, "0")}`;
  const below = index % 17 === 0;
  const above = index % 29 === 0;
  add({
    name,
    domain: "corp.example",
    class: "workstation",
    ip: nextWorkstationIp(),
    os: below && index % 2 === 0 ? WIN10_OLD : index % 3 === 0 ? WIN11 : WIN10,
    ...hardware("desktop"),
    agentLastSeen: fresh(1 + (index % 20)),
    inConfigMgr: true,
    inDirectory: true,
    directoryEnabled: true,
    lastLogon: NOW - (index % 5) * DAY,
    inDns: index % 11 !== 0,
    dhcp: true,
    baseline: below ? "below" : above ? "above" : "at",
    ...(below
      ? { note: "below baseline: missing the March cumulative update" }
      : above
        ? { note: "above baseline: unapproved browser version" }
        : {}),
  });
}
for (let index = 1; index <= 40; index++) {
  const name = `lt-${String(index).padStart(3, "0")}`;
  const remote = index % 8 === 0;
  const silent = index === 17;
  add({
    name,
    domain: "corp.example",
    class: "laptop",
    ip: nextWorkstationIp(),
    os: index % 2 === 0 ? WIN11 : WIN10,
    ...hardware("laptop"),
    agentLastSeen: silent ? NOW - 38 * DAY : fresh(2 + (index % 30)),
    inConfigMgr: true,
    inDirectory: true,
    directoryEnabled: true,
    lastLogon: silent ? NOW - 36 * DAY : NOW - (index % 4) * DAY,
    inDns: true,
    dhcp: !remote,
    link: remote ? "vpn" : "lan",
    remote,
    baseline: silent ? "below" : index % 13 === 0 ? "above" : "at",
    ...(silent
      ? { note: "agent silent for five weeks (last osquery result 2024-02-03)" }
      : remote
        ? { note: "remote worker on VPN" }
        : {}),
  });
}
// The legacy payroll workstation: a documented exception (dials the payroll processing agency).
add({
  name: "ws-pay01",
  domain: "corp.example",
  class: "legacy-payroll",
  ip: "10.20.5.40",
  os: XP,
  ...hardware("desktop"),
  agentLastSeen: fresh(3),
  inConfigMgr: true,
  inDirectory: true,
  directoryEnabled: true,
  lastLogon: NOW - DAY,
  inDns: true,
  tags: ["business-critical", "payroll", "baseline-exception"],
  link: "dialup",
  remote: false,
  baseline: "below",
  note: "legacy payroll workstation on Windows XP SP3 with a dial-up modem to the payroll agency: documented baseline exception",
});
// A lab host with a colliding short name in another domain: DNS only, must stay its own asset.
add({
  name: "ws-041",
  domain: "lab.example",
  class: "dev",
  ip: "10.30.0.41",
  inDns: true,
  note: "same short name as ws-041.corp.example, other domain: a distinct asset",
});

// ---------------------------------------------------------------- osquery results log
const lines: string[] = [];
const unix = (ms: number) => Math.floor(ms / 1000);
const calendar = (ms: number) => {
  const d = new Date(ms);
  const day = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"][d.getUTCDay()];
  const month = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"][
    d.getUTCMonth()
  ];
  return `${day} ${month} ${String(d.getUTCDate()).padStart(2, " ")} ${d.toISOString().slice(11, 19)} ${d.getUTCFullYear()} UTC`;
};
let counter = 0;
function result(host: Host, query: string, time: number, body: Record<string, unknown>) {
  const hostname = host.os?.platform === "windows" ? host.name.toUpperCase() : `${host.name}.${host.domain}`;
  lines.push(
    JSON.stringify({
      name: query,
      hostIdentifier: hostname,
      calendarTime: calendar(time),
      unixTime: unix(time),
      epoch: 0,
      counter: counter++,
      numerics: false,
      decorations: { host_uuid: host.uuid!.toLowerCase(), username: "SYSTEM" },
      ...body,
    }),
  );
}
const snapshot = (host: Host, query: string, time: number, rows: Record<string, string>[]) =>
  result(host, query, time, { snapshot: rows, action: "snapshot" });

const BASE_KBS = ["KB5034439", "KB5034122", "KB5033372", "KB5032189"];
const MARCH_CU: Record<string, string> = {
  "19045": "KB5035845",
  "22631": "KB5035853",
  "17763": "KB5035849",
  "20348": "KB5035857",
  "19044": "KB5035845",
};
function windowsPrograms(host: Host): Record<string, string>[] {
  const chrome = host.baseline === "above" ? "123.0.6312.59" : "122.0.6261.112";
  const programs = [
    { name: "Microsoft Edge", version: "122.0.2365.80", publisher: "Microsoft Corporation" },
    { name: "Google Chrome", version: chrome, publisher: "Google LLC" },
    {
      name: "Microsoft 365 Apps for enterprise - en-us",
      version: "16.0.17231.20236",
      publisher: "Microsoft Corporation",
    },
    { name: "7-Zip 23.01 (x64)", version: "23.01", publisher: "Igor Pavlov" },
    { name: "osquery", version: "5.11.0", publisher: "osquery" },
  ];
  if (host.class === "legacy-payroll")
    return [
      {
        name: "Microsoft Office Professional Edition 2003",
        version: "11.0.8173.0",
        publisher: "Microsoft Corporation",
      },
      { name: "PayLink Dialer", version: "4.2.1", publisher: "Payroll Services Agency" },
      { name: "osquery", version: "5.11.0", publisher: "osquery" },
    ];
  if (host.class === "wsus")
    programs.push({
      name: "Microsoft Windows Server Update Services 3.0 SP1",
      version: "3.1.6001.65",
      publisher: "Microsoft Corporation",
    });
  if (host.class === "sccm")
    programs.push({
      name: "Microsoft System Center Configuration Manager 2007",
      version: "4.00.5931.0000",
      publisher: "Microsoft Corporation",
    });
  return programs.map((program) => ({
    ...program,
    install_location: "",
    install_source: "",
    language: "",
    uninstall_string: "",
    install_date: "20240110",
    identifying_number: "",
  }));
}
function patches(host: Host): Record<string, string>[] {
  if (host.class === "legacy-payroll")
    return ["KB2926765", "KB4012598"].map((id) => ({
      hotfix_id: id,
      caption: `http://support.microsoft.com/?kbid=${id.slice(2)}`,
      description: "Security Update",
      installed_by: "NT AUTHORITY\\SYSTEM",
      installed_on: "5/13/2017",
      csname: host.name.toUpperCase(),
      fix_comments: "",
      install_date: "",
    }));
  const kbs = [...BASE_KBS];
  if (host.baseline !== "below" && host.os) kbs.unshift(MARCH_CU[host.os.build] ?? "KB5035845");
  if (host.baseline === "above" && host.class === "file-server") kbs.unshift("KB5035942");
  return kbs.map((id, index) => ({
    hotfix_id: id,
    caption: `https://support.microsoft.com/help/${id.slice(2)}`,
    description: index === 0 ? "Security Update" : "Update",
    installed_by: "NT AUTHORITY\\SYSTEM",
    installed_on: `${index === 0 ? 3 : 2}/${index === 0 ? 5 : 14 - index}/2024`,
    csname: host.name.toUpperCase(),
    fix_comments: "",
    install_date: "",
  }));
}
function ports(host: Host): Record<string, string>[] {
  const list: [number, number, string][] = [
    [135, 6, "C:\\Windows\\system32\\svchost.exe"],
    [445, 6, "System"],
  ];
  if (host.class === "dc")
    list.push(
      [53, 17, "C:\\Windows\\system32\\dns.exe"],
      [88, 6, "C:\\Windows\\system32\\lsass.exe"],
      [389, 6, "C:\\Windows\\system32\\lsass.exe"],
      [636, 6, "C:\\Windows\\system32\\lsass.exe"],
      [3268, 6, "C:\\Windows\\system32\\lsass.exe"],
    );
  if (host.class === "wsus") list.push([8530, 6, "System"], [8531, 6, "System"]);
  if (host.class === "payroll")
    list.push(
      [1433, 6, "C:\\Program Files\\Microsoft SQL Server\\MSSQL15.MSSQLSERVER\\MSSQL\\Binn\\sqlservr.exe"],
      [443, 6, "System"],
    );
  if (host.class === "app-server")
    list.push([443, 6, host.os?.platform === "ubuntu" ? "/usr/sbin/nginx" : "System"]);
  if (host.class === "workstation" && host.baseline === "above")
    list.push([5900, 6, "C:\\Program Files\\uvnc bvba\\UltraVNC\\winvnc.exe"]);
  if (host.class === "legacy-payroll") list.push([3389, 6, "C:\\WINDOWS\\system32\\svchost.exe"]);
  if (host.os?.platform === "ubuntu")
    return [
      [22, 6, "/usr/sbin/sshd"],
      [443, 6, "/usr/sbin/nginx"],
    ].map(([port, protocol, path]) => ({
      pid: "812",
      port: String(port),
      protocol: String(protocol),
      family: "2",
      address: "0.0.0.0",
      fd: "3",
      socket: "24511",
      path: String(path),
      net_namespace: "0",
    }));
  return list.map(([port, protocol, path]) => ({
    pid: "4",
    port: String(port),
    protocol: String(protocol),
    family: "2",
    address: "0.0.0.0",
    fd: "-1",
    socket: "-1",
    path,
    net_namespace: "",
  }));
}
const admins = (host: Host) => {
  const rows = [
    {
      uid: "500",
      gid: "513",
      username: host.class === "legacy-payroll" ? "Administrator" : "corp-localadmin",
      description: "Built-in account for administering the computer/domain",
      directory: "",
      shell: "C:\\Windows\\System32\\cmd.exe",
      uuid: "",
    },
  ];
  if (host.baseline === "above" && host.class === "workstation")
    rows.push({
      uid: "1001",
      gid: "513",
      username: "helpdesk-temp",
      description: "",
      directory: "",
      shell: "C:\\Windows\\System32\\cmd.exe",
      uuid: "",
    });
  return rows;
};

for (const host of hosts) {
  if (host.agentLastSeen === undefined || !host.os) continue;
  const t = host.agentLastSeen;
  const windows = host.os.platform === "windows";
  snapshot(host, "pack_inventory_system_info", t, [
    {
      hostname: windows ? host.name.toUpperCase() : `${host.name}.${host.domain}`,
      uuid: host.uuid!,
      cpu_type: "x86_64",
      cpu_brand: "Intel(R) Xeon(R) Silver 4314 CPU @ 2.40GHz",
      cpu_physical_cores: "4",
      cpu_logical_cores: "8",
      physical_memory: String(16 * 1024 ** 3),
      hardware_vendor: host.vendor!,
      hardware_model: host.model!,
      hardware_version: "",
      hardware_serial: host.serial!,
      computer_name: host.name.toUpperCase(),
      local_hostname: host.name.toUpperCase(),
    },
  ]);
  snapshot(host, "pack_inventory_os_version", t, [
    {
      name: host.os.name + (host.os.sp ? ` ${host.os.sp}` : ""),
      version: host.os.version,
      major: host.os.version.split(".")[0]!,
      minor: host.os.version.split(".")[1] ?? "0",
      patch: "0",
      build: host.os.build,
      platform: host.os.platform,
      platform_like: windows ? "windows" : "debian",
      codename: host.os.sp ?? "",
      arch: "64-bit",
    },
  ]);
  if (windows) {
    snapshot(host, "pack_inventory_chassis_info", t, [
      {
        chassis_types: String(host.chassis),
        manufacturer: host.vendor!,
        model: host.model!,
        serial: host.serial!,
        sku: "",
        smbios_tag: "",
        status: "",
        audible_alarm: "",
        breach_description: "",
        description: "",
        lock: "False",
        security_breach: "",
        visible_alarm: "",
      },
    ]);
    snapshot(host, "pack_inventory_programs", t, windowsPrograms(host));
    snapshot(host, "pack_inventory_patches", t, patches(host));
    const avGood = !(host.baseline === "below" && host.class === "workstation");
    snapshot(host, "pack_security_windows_security_center", t, [
      {
        firewall: "Good",
        autoupdate: "Good",
        antivirus: host.class === "legacy-payroll" ? "Not Monitored" : avGood ? "Good" : "Poor",
        internet_settings: "Good",
        windows_security_center_service: "Good",
        user_account_control: "Good",
      },
    ]);
    if (host.class !== "legacy-payroll")
      snapshot(host, "pack_security_windows_security_products", t, [
        {
          type: "Antivirus",
          name: "Microsoft Defender Antivirus",
          state: "On",
          state_timestamp: new Date(t - (avGood ? 1 : 9) * DAY).toISOString().replace("T", " ").slice(0, 19),
          remediation_path: "windowsdefender://",
          signatures_up_to_date: avGood ? "1" : "0",
        },
      ]);
    snapshot(host, "pack_security_local_admins", t, admins(host));
    if (
      host.class === "dc" ||
      host.class === "wsus" ||
      host.class === "sccm" ||
      host.class === "payroll" ||
      host.class === "file-server"
    )
      snapshot(host, "pack_inventory_services", t, [
        {
          name: "W32Time",
          display_name: "Windows Time",
          status: "RUNNING",
          start_type: "AUTO_START",
          service_type: "OWN_PROCESS",
          pid: "1200",
          win32_exit_code: "0",
          service_exit_code: "0",
          path: "C:\\Windows\\system32\\svchost.exe -k LocalService",
          module_path: "",
          description: "",
          user_account: "NT AUTHORITY\\LocalService",
        },
        ...(host.class === "dc"
          ? [
              {
                name: "NTDS",
                display_name: "Active Directory Domain Services",
                status: "RUNNING",
                start_type: "AUTO_START",
                service_type: "SHARE_PROCESS",
                pid: "684",
                win32_exit_code: "0",
                service_exit_code: "0",
                path: "C:\\Windows\\System32\\lsass.exe",
                module_path: "",
                description: "",
                user_account: "LocalSystem",
              },
            ]
          : []),
        ...(host.class === "wsus"
          ? [
              {
                name: "WsusService",
                display_name: "WSUS Service",
                status: "RUNNING",
                start_type: "AUTO_START",
                service_type: "OWN_PROCESS",
                pid: "2210",
                win32_exit_code: "0",
                service_exit_code: "0",
                path: "C:\\Program Files\\Update Services\\Services\\WsusService.exe",
                module_path: "",
                description: "",
                user_account: "NT AUTHORITY\\NetworkService",
              },
            ]
          : []),
      ]);
  } else {
    snapshot(host, "pack_inventory_deb_packages", t, [
      {
        name: "nginx",
        version: "1.18.0-6ubuntu14.4",
        source: "",
        size: "1421",
        arch: "amd64",
        revision: "6ubuntu14.4",
        status: "install ok installed",
        maintainer: "Ubuntu Developers",
        section: "httpd",
        priority: "optional",
        admindir: "/var/lib/dpkg",
      },
      {
        name: "openssl",
        version: "3.0.2-0ubuntu1.15",
        source: "",
        size: "2095",
        arch: "amd64",
        revision: "0ubuntu1.15",
        status: "install ok installed",
        maintainer: "Ubuntu Developers",
        section: "utils",
        priority: "optional",
        admindir: "/var/lib/dpkg",
      },
      {
        name: "osquery",
        version: "5.11.0-1.linux",
        source: "",
        size: "0",
        arch: "amd64",
        revision: "1.linux",
        status: "install ok installed",
        maintainer: "osquery",
        section: "default",
        priority: "extra",
        admindir: "/var/lib/dpkg",
      },
    ]);
    snapshot(host, "pack_security_local_admins", t, [
      {
        uid: "0",
        gid: "0",
        username: "root",
        description: "root",
        directory: "/root",
        shell: "/bin/bash",
        uuid: "",
      },
    ]);
  }
  snapshot(host, "pack_inventory_listening_ports", t, ports(host));
  if (host.class === "wsus") {
    const dll =
      "C:\\Program Files\\Update Services\\WebServices\\ClientWebService\\bin\\Microsoft.UpdateServices.WebServices.Client.Dll";
    // Before the fix (a week ago) and after it (this morning): the event format's removed/added pair.
    result(host, "pack_wsus_file", t - 7 * DAY, {
      columns: {
        path: dll,
        directory: dll.slice(0, dll.lastIndexOf("\\")),
        filename: "Microsoft.UpdateServices.WebServices.Client.Dll",
        file_version: "3.1.6000.273",
        product_version: "3.1.6000.273",
        size: "329568",
      },
      action: "added",
    });
    result(host, "pack_wsus_file", t, {
      columns: {
        path: dll,
        directory: dll.slice(0, dll.lastIndexOf("\\")),
        filename: "Microsoft.UpdateServices.WebServices.Client.Dll",
        file_version: "3.1.6000.273",
        product_version: "3.1.6000.273",
        size: "329568",
      },
      action: "removed",
    });
    result(host, "pack_wsus_file", t, {
      columns: {
        path: dll,
        directory: dll.slice(0, dll.lastIndexOf("\\")),
        filename: "Microsoft.UpdateServices.WebServices.Client.Dll",
        file_version: "3.1.6001.66",
        product_version: "3.1.6001.66",
        size: "331616",
      },
      action: "added",
    });
    result(host, "pack_wsus_authenticode", t, {
      diffResults: {
        added: [
          {
            path: dll,
            original_program_name: "Microsoft.UpdateServices.WebServices.Client.Dll",
            serial_number: "330000015fbc6a",
            issuer_name: "Microsoft Code Signing PCA",
            subject_name: "Microsoft Corporation",
            result: "trusted",
          },
        ],
        removed: [],
      },
    });
  }
  if (host.baseline === "above" && host.class === "laptop")
    // A later differential row: the user installed an unapproved tool after the snapshot.
    result(host, "pack_inventory_programs", t + 600_000, {
      columns: {
        name: "AnyDesk",
        version: "8.0.8",
        publisher: "AnyDesk Software GmbH",
        install_location: "",
        install_source: "",
        language: "",
        uninstall_string: "",
        install_date: "20240312",
        identifying_number: "",
      },
      action: "added",
    });
}
// Two kinds of bad line a real results log can hold: a cut-off write and a wrong column type.
lines.splice(40, 0, lines[40]!.slice(0, 120));
lines.push(
  JSON.stringify({
    name: "pack_inventory_listening_ports",
    hostIdentifier: "WS-003",
    unixTime: unix(fresh(1)),
    snapshot: [{ port: "http", protocol: "6", address: "0.0.0.0", path: "System" }],
    action: "snapshot",
  }),
);

// ---------------------------------------------------------------- Active Directory CSV
const usDate = (ms: number) => {
  const d = new Date(ms);
  const hour = d.getUTCHours() % 12 === 0 ? 12 : d.getUTCHours() % 12;
  return `${d.getUTCMonth() + 1}/${d.getUTCDate()}/${d.getUTCFullYear()} ${hour}:${String(d.getUTCMinutes()).padStart(2, "0")}:${String(d.getUTCSeconds()).padStart(2, "0")} ${d.getUTCHours() < 12 ? "AM" : "PM"}`;
};
const ouOf = (host: Host) =>
  host.class === "dc"
    ? "OU=Domain Controllers"
    : host.class === "workstation" || host.class === "legacy-payroll" || host.class === "stale"
      ? "OU=Workstations,OU=Computers"
      : host.class === "laptop"
        ? "OU=Laptops,OU=Computers"
        : host.class === "dev"
          ? "OU=Test,OU=Servers"
          : "OU=Servers";
const csvCell = (value: string) => `"${value.replace(/"/g, '""')}"`;
const adRows = [
  "#TYPE Microsoft.ActiveDirectory.Management.ADComputer",
  [
    "DistinguishedName",
    "DNSHostName",
    "Enabled",
    "LastLogonDate",
    "Name",
    "OperatingSystem",
    "OperatingSystemServicePack",
    "OperatingSystemVersion",
  ]
    .map(csvCell)
    .join(","),
];
for (const host of hosts) {
  if (!host.inDirectory) continue;
  const os = host.os!;
  adRows.push(
    [
      `CN=${host.name.toUpperCase()},${ouOf(host)},DC=corp,DC=example`,
      host.class === "stale" && host.name.endsWith("01") ? "" : `${host.name}.corp.example`,
      host.directoryEnabled === false ? "False" : "True",
      usDate(host.lastLogon ?? host.agentLastSeen ?? NOW - DAY),
      host.name.toUpperCase(),
      os.name.replace("Microsoft ", ""),
      os.sp ?? "",
      `${os.version.split(".").slice(0, 2).join(".")} (${os.build})`,
    ]
      .map(csvCell)
      .join(","),
  );
}
adRows.push(
  `"CN=BROKEN,OU=Servers,DC=corp,DC=example","broken..corp.example","True","13/45/2024 9:00:00 AM","BROKEN","Windows Server 2019 Standard","","10.0 (17763)"`,
);

// ---------------------------------------------------------------- BIND zone (forward and reverse)
const zone: string[] = [
  "; corp.example: forward and reverse records, as exported from the DNS servers (dc01, dc02)",
  "$ORIGIN corp.example.",
  "$TTL 3600",
  "@\tIN\tSOA\tdc01.corp.example. hostmaster.corp.example. (",
  "\t\t2024031201 ; serial",
  "\t\t900        ; refresh",
  "\t\t600        ; retry",
  "\t\t86400      ; expire",
  "\t\t3600 )     ; minimum",
  "\tIN\tNS\tdc01",
  "\tIN\tNS\tdc02.corp.example.",
  "\tIN\tMX\t10 mail-relay",
];
const reverse: string[] = ["", "$ORIGIN 20.10.in-addr.arpa."];
for (const host of hosts) {
  if (!host.inDns || host.domain !== "corp.example") continue;
  zone.push(`${host.name}\t${host.dhcp ? "1200" : ""}\tIN\tA\t${host.ip}`);
  if (host.ip.startsWith("10.20.")) {
    const [, , c, d] = host.ip.split(".");
    reverse.push(`${d}.${c}\tPTR\t${host.name}.corp.example.`);
  }
}
zone.push(
  "intranet\tIN\tCNAME\tapp01",
  "wsus\tIN\tCNAME\twsus01.corp.example.",
  "www\tIN\tCNAME\twww01",
  "_ldap._tcp\tIN\tSRV\t0 100 389 dc01",
  "broken\tIN\tA\t10.20.300.1",
);
const lab = ["", "$ORIGIN lab.example.", "ws-041\t300\tIN\tA\t10.30.0.41"];

// ---------------------------------------------------------------- DHCP leases
const leaseTime = (ms: number) => {
  const d = new Date(ms);
  return `${d.getUTCDay()} ${d.toISOString().slice(0, 10).replace(/-/g, "/")} ${d.toISOString().slice(11, 19)}`;
};
const leases: string[] = [
  "# The format of this file is documented in the dhcpd.leases(5) manual page.",
  "# This lease file was written by isc-dhcp-4.4.3",
  "",
  "authoring-byte-order little-endian;",
  'server-duid "\\000\\001\\000\\001-\\304\\017\\222\\000PV\\217\\000\\001";',
  "",
];
function lease(ip: string, mac: string, name: string | undefined, start: number, state = "active") {
  leases.push(
    `lease ${ip} {`,
    `  starts ${leaseTime(start)};`,
    `  ends ${leaseTime(start + 12 * 3_600_000)};`,
    `  cltt ${leaseTime(start)};`,
    `  binding state ${state};`,
    "  next binding state free;",
    "  rewind binding state free;",
    `  hardware ethernet ${mac};`,
    ...(name ? [`  client-hostname "${name}";`] : []),
    "}",
  );
}
const dhcpHosts = hosts.filter((host) => host.dhcp);
for (const host of dhcpHosts)
  lease(
    host.ip,
    host.mac!,
    host.name.toUpperCase(),
    NOW - 5 * 3_600_000 - (hosts.indexOf(host) % 50) * 60_000,
  );
// Addresses that move: lt-005 had 10.20.43.200 yesterday (released), today lt-006's old address is reused by a visitor.
const lt005 = hosts.find((host) => host.name === "lt-005")!;
lease("10.20.43.200", lt005.mac!, "LT-005", NOW - 30 * 3_600_000, "free");
const lt006 = hosts.find((host) => host.name === "lt-006")!;
lease(lt006.ip, lt006.mac!, "LT-006", NOW - 40 * 3_600_000, "free");
lease(lt006.ip, "f0:2f:74:9a:11:02", "GUEST-PHONE", NOW - 2 * 3_600_000);
lease("10.20.43.250", "f0:2f:74:9a:11:03", undefined, NOW - 3_600_000);
leases.push(
  "lease 10.20.43.251 {",
  "  starts 2 2024/02/30 08:00:00;",
  "  hardware ethernet f0:2f:74:9a:11:04;",
  "}",
);

// ---------------------------------------------------------------- ConfigMgr hardware inventory
const cmHeader = [
  "ResourceID",
  "Netbios_Name0",
  "Resource_Domain_OR_Workgr0",
  "SerialNumber0",
  "MACAddresses",
  "IPAddresses",
  "ChassisTypes0",
  "Manufacturer0",
  "Model0",
  "Caption0",
  "Version0",
  "CSDVersion0",
  "LastHWScan",
  "Roles",
  "Tags",
  "Link",
  "Remote",
];
const cmRows = [cmHeader.join(",")];
let resourceId = 16_777_220;
for (const host of hosts) {
  if (!host.inConfigMgr || !host.os) continue;
  const scan = new Date((host.agentLastSeen ?? NOW) - 6 * 3_600_000)
    .toISOString()
    .replace("T", " ")
    .slice(0, 19);
  cmRows.push(
    [
      String(resourceId++),
      host.name.toUpperCase(),
      "CORP",
      host.serial!,
      host.mac!.toUpperCase().replace(/:/g, "-"),
      host.ip,
      `{${host.chassis}}`,
      host.vendor!,
      host.model!,
      host.os.name,
      host.os.version,
      host.os.sp ?? "",
      scan,
      (host.roles ?? []).join(";"),
      (host.tags ?? []).join(";"),
      host.link ?? "lan",
      host.remote ? "1" : "0",
    ]
      .map((value) => (/[",;{}]/.test(value) ? csvCell(value) : value))
      .join(","),
  );
}
cmRows.push(
  `16799999,,CORP,,,,"{3}",Dell Inc.,OptiPlex 7010,Microsoft Windows 10 Enterprise,10.0.19045,,2024-03-11 08:00:00,,,lan,0`,
);
const cmMapping = {
  name: "configmgr-hardware",
  kind: "hardware",
  columns: {
    netbios_name: "Netbios_Name0",
    hostname: "Netbios_Name0",
    serial_number: "SerialNumber0",
    macs: "MACAddresses",
    ips: "IPAddresses",
    chassis: "ChassisTypes0",
    vendor: "Manufacturer0",
    model: "Model0",
    os_name: "Caption0",
    os_version: "Version0",
    service_pack: "CSDVersion0",
    last_seen: "LastHWScan",
    roles: "Roles",
    tags: "Tags",
    link: "Link",
    remote: "Remote",
  },
};

// ---------------------------------------------------------------- WSUS missing updates report
const wsusRows = ["ComputerName,UpdateId,Title,MsrcSeverity,ApprovedOn"];
for (const host of hosts) {
  if (
    host.baseline !== "below" ||
    !host.os ||
    host.os.platform !== "windows" ||
    host.class === "legacy-payroll"
  )
    continue;
  const kb = MARCH_CU[host.os.build] ?? "KB5035845";
  wsusRows.push(
    `${host.name}.corp.example,${kb},${csvCell(`2024-03 Cumulative Update for ${host.os.name} (${kb})`)},Critical,2024-03-12`,
  );
}
const wsusMapping = {
  name: "wsus-missing",
  kind: "updates-missing",
  columns: {
    fqdn: "ComputerName",
    update_id: "UpdateId",
    update_title: "Title",
    update_severity: "MsrcSeverity",
  },
};

// ---------------------------------------------------------------- write
function write(path: string, content: string) {
  const full = join(OUT, path);
  mkdirSync(dirname(full), { recursive: true });
  writeFileSync(full, content);
}
write("osquery/osqueryd.results.log", `${lines.join("\n")}\n`);
write("directory/ad-computers.csv", `${adRows.join("\r\n")}\r\n`);
write("dns/corp.example.zone", `${[...zone, ...reverse, ...lab].join("\n")}\n`);
write("dhcp/dhcpd.leases", `${leases.join("\n")}\n`);
write("configmgr/hardware.csv", `${cmRows.join("\r\n")}\r\n`);
write("configmgr/hardware.mapping.json", `${JSON.stringify(cmMapping, null, 2)}\n`);
write("wsus/missing-updates.csv", `${wsusRows.join("\r\n")}\r\n`);
write("wsus/missing-updates.mapping.json", `${JSON.stringify(wsusMapping, null, 2)}\n`);
write(
  "estate.json",
  `${JSON.stringify(
    {
      now: new Date(NOW).toISOString(),
      hosts: hosts.map((host) => ({
        name: host.domain === "corp.example" ? host.name : `${host.name}.${host.domain}`,
        class: host.class,
        ip: host.ip || undefined,
        managed: host.agentLastSeen !== undefined || host.inConfigMgr === true,
        sources: [
          host.agentLastSeen !== undefined && "osquery",
          host.inConfigMgr && "inventory",
          host.inDirectory && "directory",
          host.inDns && "dns",
          host.dhcp && "dhcp",
        ].filter(Boolean),
        baseline: host.baseline,
        note: host.note,
      })),
    },
    null,
    2,
  )}\n`,
);
console.log(
  `estate: ${hosts.length} hosts; osquery ${lines.length} lines, AD ${adRows.length - 2} accounts, zone ${zone.length + reverse.length + lab.length} lines, leases ${leases.length} lines, ConfigMgr ${cmRows.length - 1} rows`,
);
