/**
 * The pack's test cases: sample events (tests/**, made by src/samples/cases.ts) and the findings
 * they must produce, exactly. `vigil rules test packages/rules-core-pack` runs them, as does CI.
 */
import type { PackManifestInput } from "./contract.ts";

type PackTests = NonNullable<PackManifestInput["tests"]>;

const priorityList = { kind: "priority-list", path: "tests/references/corp-priority-list.yaml" } as const;
const baselines = { kind: "baselines", path: "tests/references/corp-baselines.yaml" } as const;
const exceptions = { kind: "exceptions", path: "tests/references/corp-exceptions.yaml" } as const;
const corp = [priorityList, baselines, exceptions];

export const tests: PackTests = [
  // ------------------------------------------------------------------ 1. exploit on a vulnerable asset
  {
    name: "Zerologon against an unpatched and a patched domain controller; KEV raises to critical",
    rules: ["core.ids.exploit-vulnerable-asset"],
    references: corp,
    events: "tests/ids-exploit-vulnerable-asset/zerologon.jsonl",
    expect: [
      {
        rule: "core.ids.exploit-vulnerable-asset",
        asset: "dc01.corp.example",
        severity: "critical",
        count: 2,
      },
      { rule: "core.ids.exploit-vulnerable-asset", asset: "dc02.corp.example", count: 0 },
    ],
  },
  {
    name: "A superseding update counts as the fix; a CVE not known exploited stays at the alert's severity; unknown hosts are not judged",
    rules: ["core.ids.exploit-vulnerable-asset"],
    references: corp,
    events: "tests/ids-exploit-vulnerable-asset/superseded-and-unknown.jsonl",
    expect: [
      {
        rule: "core.ids.exploit-vulnerable-asset",
        asset: "app03.corp.example",
        severity: "high",
        title_contains: "CVE-2024-21307",
      },
    ],
  },
  // ------------------------------------------------------------------ 2. high-severity alerts on priority assets
  {
    name: "The demo morning's alerts on critical and high tier assets",
    rules: ["core.ids.high-severity-priority-asset"],
    references: [priorityList],
    events: "tests/ids-high-severity-priority-asset/demo-morning.jsonl",
    expect: [
      {
        rule: "core.ids.high-severity-priority-asset",
        asset: "www01.corp.example",
        severity: "critical",
        title_contains: "log4j",
      },
      {
        rule: "core.ids.high-severity-priority-asset",
        asset: "fs01.corp.example",
        severity: "critical",
        count: 2,
      },
      {
        rule: "core.ids.high-severity-priority-asset",
        asset: "dc01.corp.example",
        severity: "critical",
        title_contains: "ETERNALBLUE",
        count: 2,
      },
      {
        rule: "core.ids.high-severity-priority-asset",
        asset: "dc01.corp.example",
        severity: "critical",
        title_contains: "Zerologon",
        count: 2,
      },
    ],
  },
  {
    name: "Critical alerts on medium and low tier assets",
    rules: ["core.ids.critical-alert"],
    references: [priorityList],
    events: "tests/ids-critical-alert/demo-morning.jsonl",
    expect: [{ rule: "core.ids.critical-alert", asset: "10.20.42.101", severity: "critical", count: 6 }],
  },
  // ------------------------------------------------------------------ 3. unmanaged infrastructure
  {
    name: "Inside addresses in traffic without managed inventory, once per address per day",
    rules: ["core.inventory.unmanaged-address"],
    references: corp,
    events: "tests/inventory-unmanaged-address/traffic.jsonl",
    expect: [
      { rule: "core.inventory.unmanaged-address", asset: "10.20.9.77", severity: "high", count: 2 },
      { rule: "core.inventory.unmanaged-address", asset: "www01.corp.example", severity: "medium" },
    ],
  },
  // ------------------------------------------------------------------ 4. inventory completeness
  {
    name: "An audit that lost 12% of its hosts, and a directory export that grew by half",
    rules: ["core.inventory.audit-count-change"],
    events: "tests/inventory-audit-count-change/osquery-and-directory.jsonl",
    expect: [
      {
        rule: "core.inventory.audit-count-change",
        severity: "medium",
        title_contains: "osquery (osquery) lost 23 hosts",
      },
      {
        rule: "core.inventory.audit-count-change",
        severity: "medium",
        title_contains: "directory (ad-csv) gained 71 hosts",
      },
    ],
  },
  {
    name: "Enabled directory accounts without managed inventory; an excepted development server",
    rules: ["core.inventory.directory-without-inventory"],
    references: corp,
    events: "tests/inventory-directory-without-inventory/accounts.jsonl",
    expect: [
      {
        rule: "core.inventory.directory-without-inventory",
        asset: "ws-old-04.corp.example",
        severity: "low",
      },
    ],
  },
  {
    name: "DNS and DHCP registrations without inventory; a printer whose exception expired",
    rules: ["core.inventory.dns-without-inventory"],
    references: corp,
    events: "tests/inventory-dns-without-inventory/registrations.jsonl",
    expect: [
      { rule: "core.inventory.dns-without-inventory", asset: "prn-01.corp.example", severity: "low" },
      { rule: "core.inventory.dns-without-inventory", asset: "prn-02.corp.example", severity: "low" },
      { rule: "core.inventory.dns-without-inventory", asset: "www01.corp.example", severity: "medium" },
      { rule: "core.inventory.dns-without-inventory", asset: "ws-041.lab.example", severity: "low" },
      { rule: "core.inventory.dns-without-inventory", asset: "guest-phone", severity: "low" },
    ],
  },
  // ------------------------------------------------------------------ 5. agents
  {
    name: "A laptop whose agent went quiet while the machine stays on; a server silent until time passes",
    rules: ["core.agent.silent"],
    references: corp,
    events: "tests/agent-silent/laptop-and-server.jsonl",
    advance_to: "2024-03-12T12:00:00Z",
    expect: [
      { rule: "core.agent.silent", asset: "lt-017.corp.example", severity: "medium" },
      { rule: "core.agent.silent", asset: "app02.corp.example", severity: "low" },
    ],
  },
  {
    name: "A management-system client no agent ever reported from",
    rules: ["core.agent.install-failed"],
    references: corp,
    events: "tests/agent-install-failed/configmgr-without-agent.jsonl",
    expect: [{ rule: "core.agent.install-failed", asset: "ws-151.corp.example", severity: "low" }],
  },
  // ------------------------------------------------------------------ 6. baselines, with exceptions and their expiry
  {
    name: "Below baseline: missing cumulative updates and an old build; the payroll workstation's exception until it expires",
    rules: ["core.baseline.below"],
    references: corp,
    events: "tests/baseline/corp-estate.jsonl",
    expect: [
      {
        rule: "core.baseline.below",
        asset: "dc02.corp.example",
        severity: "high",
        title_contains: "update:KB5035849",
      },
      {
        rule: "core.baseline.below",
        asset: "ws-017.corp.example",
        severity: "low",
        title_contains: "update:KB5035845",
      },
      {
        rule: "core.baseline.below",
        asset: "ws-034.corp.example",
        severity: "low",
        title_contains: "update:KB5035845",
      },
      {
        rule: "core.baseline.below",
        asset: "ws-034.corp.example",
        severity: "medium",
        title_contains: "os.build",
      },
      {
        rule: "core.baseline.below",
        asset: "ws-pay01.corp.example",
        severity: "high",
        title_contains: "os.build",
      },
      {
        rule: "core.baseline.below",
        asset: "ws-pay01.corp.example",
        severity: "medium",
        title_contains: "update:KB5035845",
      },
    ],
  },
  {
    name: "Above baseline: a browser newer than approved, an unapproved preview update",
    rules: ["core.baseline.above"],
    references: corp,
    events: "tests/baseline/corp-estate.jsonl",
    expect: [
      {
        rule: "core.baseline.above",
        asset: "ws-029.corp.example",
        severity: "low",
        title_contains: "software:Google Chrome",
      },
      {
        rule: "core.baseline.above",
        asset: "fs02.corp.example",
        severity: "medium",
        title_contains: "update:KB5035942",
      },
    ],
  },
  // ------------------------------------------------------------------ 7. policy
  {
    name: "Listening ports the class does not allow",
    rules: ["core.policy.port-not-allowed"],
    references: corp,
    events: "tests/baseline/corp-estate.jsonl",
    expect: [
      {
        rule: "core.policy.port-not-allowed",
        asset: "ws-029.corp.example",
        severity: "medium",
        title_contains: "port:tcp/5900",
      },
    ],
  },
  {
    name: "Antivirus signatures out of date; an excepted legacy workstation, then its exception expires",
    rules: ["core.policy.antivirus"],
    references: corp,
    events: "tests/baseline/corp-estate.jsonl",
    expect: [
      {
        rule: "core.policy.antivirus",
        asset: "ws-017.corp.example",
        severity: "medium",
        title_contains: "antivirus.signature_age",
      },
      {
        rule: "core.policy.antivirus",
        asset: "ws-pay01.corp.example",
        severity: "medium",
        title_contains: "antivirus.missing",
      },
    ],
  },
  {
    name: "Default Administrator not renamed; an administrator outside the approved list",
    rules: ["core.policy.admin-account"],
    references: corp,
    events: "tests/baseline/corp-estate.jsonl",
    expect: [
      // Not excepted: reported in March, and again in July (a week's suppression apart).
      {
        rule: "core.policy.admin-account",
        asset: "ws-pay01.corp.example",
        severity: "medium",
        title_contains: "admin.default_account",
        count: 2,
      },
      {
        rule: "core.policy.admin-account",
        asset: "ws-029.corp.example",
        severity: "medium",
        title_contains: "helpdesk-temp",
      },
    ],
  },
  {
    name: "Forbidden remote-control tools",
    rules: ["core.policy.forbidden-software"],
    references: corp,
    events: "tests/baseline/corp-estate.jsonl",
    expect: [
      {
        rule: "core.policy.forbidden-software",
        asset: "ws-029.corp.example",
        severity: "medium",
        title_contains: "UltraVNC",
      },
      {
        rule: "core.policy.forbidden-software",
        asset: "lt-013.corp.example",
        severity: "medium",
        title_contains: "AnyDesk",
      },
    ],
  },
  {
    name: "Password policy: the inventory carries none, so nothing is claimed (unknown is never a violation)",
    rules: ["core.policy.password"],
    references: corp,
    events: "tests/baseline/corp-estate.jsonl",
    expect: [{ rule: "core.policy.password", count: 0 }],
  },
  // ------------------------------------------------------------------ 8. firewall
  {
    name: "RDP and SMB accepted by the DMZ web server, the payroll application on 8443",
    rules: ["core.firewall.port-not-allowed"],
    references: corp,
    events: "tests/firewall-port-not-allowed/dmz-and-payroll.jsonl",
    expect: [
      {
        rule: "core.firewall.port-not-allowed",
        asset: "www01.corp.example",
        severity: "critical",
        title_contains: "tcp/3389",
      },
      {
        rule: "core.firewall.port-not-allowed",
        asset: "www01.corp.example",
        severity: "critical",
        title_contains: "tcp/445",
      },
      {
        rule: "core.firewall.port-not-allowed",
        asset: "payroll01.corp.example",
        severity: "high",
        title_contains: "tcp/8443",
      },
    ],
  },
  {
    name: "The demo morning's scans and sweeps at the perimeter and between VLANs",
    rules: ["core.firewall.port-scan", "core.firewall.address-sweep", "core.firewall.denied-burst"],
    references: [priorityList],
    events: "tests/firewall-scans/demo-morning.jsonl",
    expect: [
      { rule: "core.firewall.port-scan", asset: "198.51.100.23", severity: "medium" },
      { rule: "core.firewall.address-sweep", asset: "198.51.100.23", severity: "medium" },
      { rule: "core.firewall.address-sweep", asset: "10.20.9.77", severity: "critical" },
    ],
  },
  {
    name: "A workstation hammering RDP on the payroll server (32 denied in 40 s); another retrying 25 times, ten of them redelivered",
    rules: ["core.firewall.denied-burst", "core.firewall.port-scan", "core.firewall.address-sweep"],
    references: corp,
    events: "tests/firewall-denied-burst/rdp-hammering.jsonl",
    expect: [
      {
        rule: "core.firewall.denied-burst",
        asset: "10.20.43.201",
        severity: "medium",
        title_contains: "30 denied connections",
      },
    ],
  },
  {
    name: "Traffic from a quarantined workstation: allowed, then denied",
    rules: ["core.firewall.quarantined-source"],
    references: corp,
    events: "tests/firewall-quarantined-source/isolated-workstation.jsonl",
    expect: [
      { rule: "core.firewall.quarantined-source", asset: "10.20.9.77", severity: "high" },
      { rule: "core.firewall.quarantined-source", asset: "10.20.9.77", severity: "medium" },
    ],
  },
  // ------------------------------------------------------------------ 9. update distribution
  {
    name: "954960: WSUS fails its Office 2003 clients, grouped on the server; cleared by the fixed client web service 3.1.6001.66",
    rules: ["core.updates.distribution-blocked"],
    references: [priorityList],
    events: "tests/updates-distribution-blocked/wsus-954960.jsonl",
    expect: [
      {
        rule: "core.updates.distribution-blocked",
        asset: "wsus01.corp.example",
        severity: "high",
        title_contains: "Update distribution blocked on wsus01.corp.example (KB954960)",
        count: 3,
      },
      {
        rule: "core.updates.distribution-blocked",
        asset: "wsus01.corp.example",
        severity: "informational",
        title_contains: "Cleared",
      },
    ],
  },
  {
    name: "954474: the ConfigMgr site's catalog sync processes nothing; cleared when it processes updates again",
    rules: ["core.updates.distribution-blocked"],
    references: [priorityList],
    events: "tests/updates-distribution-blocked/configmgr-954474.jsonl",
    expect: [
      {
        rule: "core.updates.distribution-blocked",
        asset: "sccm01.corp.example",
        severity: "high",
        title_contains: "KB954474",
      },
      {
        rule: "core.updates.distribution-blocked",
        asset: "sccm01.corp.example",
        severity: "informational",
        title_contains: "Cleared",
      },
    ],
  },
  {
    name: "954960 cleared when every failing client syncs again",
    rules: ["core.updates.distribution-blocked"],
    events: "tests/updates-distribution-blocked/cleared-by-client-syncs.jsonl",
    expect: [
      { rule: "core.updates.distribution-blocked", asset: "wsus02.corp.example", severity: "high", count: 2 },
      {
        rule: "core.updates.distribution-blocked",
        asset: "wsus02.corp.example",
        severity: "informational",
        title_contains: "Cleared",
      },
    ],
  },
  {
    name: "954960 cleared by the inventory's file version; a later failure opens a new episode",
    rules: ["core.updates.distribution-blocked"],
    events: "tests/updates-distribution-blocked/cleared-by-inventory.jsonl",
    expect: [
      { rule: "core.updates.distribution-blocked", asset: "wsus02.corp.example", severity: "high", count: 2 },
      {
        rule: "core.updates.distribution-blocked",
        asset: "wsus02.corp.example",
        severity: "informational",
        title_contains: "Cleared",
      },
    ],
  },
  // ------------------------------------------------------------------ 10. advisories against the inventory
  {
    name: "Zerologon affects a critical domain controller and an application server; the KEV record adds nothing new",
    rules: ["core.advisory.affects-inventory"],
    references: corp,
    events: "tests/advisory-affects-inventory/zerologon.jsonl",
    expect: [
      {
        rule: "core.advisory.affects-inventory",
        asset: "dc01.corp.example",
        severity: "critical",
        title_contains:
          "CVE-2020-1472 affects 2 inventoried hosts (1 critical, 1 medium; weight 10), known exploited",
      },
    ],
  },
  {
    name: "An advisory not known exploited, weighted by the medium tier of the servers it affects",
    rules: ["core.advisory.affects-inventory"],
    references: corp,
    events: "tests/advisory-affects-inventory/not-exploited.jsonl",
    expect: [
      {
        rule: "core.advisory.affects-inventory",
        asset: "app03.corp.example",
        severity: "high",
        title_contains: "CVE-2024-21307 affects 1 inventoried host (1 medium; weight 2)",
      },
    ],
  },
];
