import { existsSync, readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { parseFirewallLine } from "../index.ts";

const CORPUS = path.resolve(
  import.meta.dirname,
  "../../../..",
  "../shared/corpora/wazuh-ruleset-tests/ruleset/testing/tests",
);

/** Wazuh decoders that claim lines of a format this package supports. */
const FORMAT_OF_DECODER: Record<string, string> = {
  kernel: "iptables",
  pf: "pfsense",
  "cisco-asa": "asa",
  "cisco-ftd": "asa",
  pix: "asa",
  paloalto: "panos",
  "f5-bigip-cef": "cef",
  "cef-fireeye": "cef",
};

/** Lines the corpus gives a supported decoder that are not real log lines of the format (see README). */
const OUT_OF_SCOPE: { file: string; contains: string; reason: string }[] = [
  {
    file: "apparmor.ini",
    contains: "apparmor",
    reason: "AppArmor audit message: Wazuh's generic kernel decoder, not netfilter",
  },
  {
    file: "apparmor.ini",
    contains: "audit",
    reason: "AppArmor audit message: Wazuh's generic kernel decoder, not netfilter",
  },
  {
    file: "kernel_usb.ini",
    contains: "usb",
    reason: "USB device message: Wazuh's generic kernel decoder, not netfilter",
  },
  {
    file: "paloalto.ini",
    contains: ",TRAFFIC,\u0000",
    reason: "cut off after the log type: no traffic columns",
  },
  {
    file: "paloalto.ini",
    contains: ",THREAT,\u0000",
    reason: "cut off after the log type: no threat columns",
  },
  {
    file: "paloalto.ini",
    contains: "00.00.000.00",
    reason: "anonymised: addresses replaced by 00.00.000.00, not IP addresses",
  },
  { file: "pix.ini", contains: "<public IP of 525>", reason: "redacted: the address is a placeholder" },
  { file: "pix.ini", contains: "***/20031", reason: "redacted: the addresses are ***" },
  {
    file: "cisco_ftd.ini",
    contains: "{permitted | denied | est-allowed}",
    reason: "Cisco documentation template, not a log line",
  },
  {
    file: "f5_big_ip.ini",
    contains: "src=00.00.00.00",
    reason: "anonymised: src=00.00.00.00 is not an IP address",
  },
  { file: "f5_big_ip.ini", contains: "src=componentName", reason: "template: src=componentName" },
  {
    file: "fireeye.ini",
    contains: "cs5Lab...",
    reason: "truncated by the corpus (`cn3La...`, `cs5Lab...`): dst runs into a cut key",
  },
  { file: "fireeye.ini", contains: "spt=xxxxxx", reason: "anonymised: spt=xxxxxx is not a port" },
];

interface CorpusLine {
  file: string;
  decoder: string;
  format: string;
  line: string;
}

function corpusLines(): CorpusLine[] {
  const lines: CorpusLine[] = [];
  for (const file of readdirSync(CORPUS).filter((name) => name.endsWith(".ini"))) {
    for (const section of readFileSync(path.join(CORPUS, file), "utf8").split(/^\[/m)) {
      const decoder = /^decoder = (.*)$/m.exec(section)?.[1]?.trim();
      const format = decoder ? FORMAT_OF_DECODER[decoder] : undefined;
      if (!decoder || !format) continue;
      for (const match of section.matchAll(/^log \d+ (?:pass|fail) = (.*)$/gm))
        lines.push({ file, decoder, format, line: match[1]! });
    }
  }
  return lines;
}

function outOfScope(entry: CorpusLine): string | undefined {
  // A trailing NUL in `contains` means "the line ends here".
  return OUT_OF_SCOPE.find(
    (rule) =>
      rule.file === entry.file &&
      (rule.contains.endsWith("\u0000")
        ? entry.line.trimEnd().endsWith(rule.contains.slice(0, -1))
        : entry.line.includes(rule.contains)),
  )?.reason;
}

describe("wazuh-ruleset-tests corpus", () => {
  it("is present", () => {
    expect(existsSync(CORPUS), `corpus missing at ${CORPUS}`).toBe(true);
  });

  it("parses every line of a supported format (records or recognised non-traffic messages)", () => {
    const lines = corpusLines();
    expect(lines.length).toBeGreaterThan(150);
    const stats = new Map<
      string,
      { total: number; parsed: number; records: number; ignored: number; outOfScope: number }
    >();
    const failures: string[] = [];
    for (const entry of lines) {
      const stat = stats.get(entry.format) ?? { total: 0, parsed: 0, records: 0, ignored: 0, outOfScope: 0 };
      stats.set(entry.format, stat);
      stat.total += 1;
      const result = parseFirewallLine(entry.line, { now: Date.UTC(2025, 0, 1) });
      const excluded = outOfScope(entry);
      if (excluded) {
        stat.outOfScope += 1;
        continue;
      }
      if (result.status === "invalid") {
        failures.push(`${entry.file} [${entry.decoder}] ${result.reason}: ${entry.line.slice(0, 160)}`);
        continue;
      }
      stat.parsed += 1;
      if (result.status === "record") {
        stat.records += 1;
        expect(result.value.format).toBe(entry.format);
        expect(result.value.raw_data).toBe(entry.line.replace(/[\r\n]+$/, ""));
      } else {
        stat.ignored += 1;
        expect(result.format).toBe(entry.format);
      }
    }
    const report = [...stats].map(([format, s]) => {
      const inScope = s.total - s.outOfScope;
      const rate = inScope === 0 ? 100 : (100 * s.parsed) / inScope;
      return `${format}: ${s.parsed}/${inScope} in scope parsed (${rate.toFixed(1)}%; ${s.records} records, ${s.ignored} recognised non-traffic), ${s.outOfScope} out of scope of ${s.total}`;
    });
    console.log(`firewall corpus parse rates:\n  ${report.join("\n  ")}`);
    expect(failures).toEqual([]);
    for (const format of ["iptables", "pfsense", "asa", "panos", "cef"])
      expect(stats.get(format)?.parsed).toBeGreaterThan(0);
  });

  it("reads the fields the corpus lines carry", () => {
    const ufw = parseFirewallLine(
      "Dec 26 09:05:47 server01 kernel: [126140.629122] [UFW BLOCK] IN=eth0 OUT= MAC=00:11:22:33:44:55:66:77:88:99:aa:bb:cc:dd SRC=254.253.252.251 DST=191.192.193.194 LEN=52 TOS=0x02 PREC=0x00 TTL=128 ID=9209 DF PROTO=TCP SPT=17833 DPT=22 WINDOW=8192 RES=0x00 CWR ECE SYN URGP=0",
      { now: Date.UTC(2025, 0, 1) },
    );
    expect(ufw.status).toBe("record");
    if (ufw.status !== "record") return;
    expect(ufw.value).toMatchObject({
      action: "Denied",
      src_endpoint: { ip: "254.253.252.251", port: 17833, interface_name: "eth0" },
      dst_endpoint: { ip: "191.192.193.194", port: 22 },
      connection_info: { protocol_name: "tcp", tcp_flags: "CWR ECE SYN", boundary: "inbound" },
      firewall_rule: { uid: "UFW BLOCK" },
      device: { hostname: "server01" },
      time: Date.UTC(2024, 11, 26, 9, 5, 47),
    });
  });
});
