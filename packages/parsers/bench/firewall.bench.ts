/**
 * Firewall parser throughput, one core: lines per second per format (auto-detection included).
 * Run: `pnpm --filter @vigil/parsers bench:firewall` (or `node bench/firewall.bench.ts [lines]`).
 */
import { NetworkSet, parseFirewallLine } from "../src/index.ts";

const total = Number(process.argv[2] ?? 100_000);
const homeNets = new NetworkSet(["10.20.0.0/16", "172.16.10.0/24"]);
const octet = (index: number) => index % 250;

const formats: Record<string, (index: number) => string> = {
  iptables: (i) =>
    `Mar 12 09:12:10 www01 kernel: [4475569.016000] [UFW BLOCK] IN=ens192 OUT= MAC=00:50:56:aa:10:05:00:50:56:aa:10:01:08:00 SRC=198.51.100.${octet(i)} DST=172.16.10.5 LEN=44 TOS=0x00 PREC=0x00 TTL=48 ID=${i} PROTO=TCP SPT=${1024 + (i % 60000)} DPT=3389 WINDOW=1024 RES=0x00 SYN URGP=0`,
  pfsense: (i) =>
    `<134>Mar 12 09:44:00 pfsense-core filterlog[31337]: 5,,,1000000103,igb2,match,block,in,4,0x0,,128,${i % 65535},0,DF,6,tcp,52,10.20.9.77,10.20.5.${octet(i)},${1024 + (i % 60000)},445,0,S,777,,8192,,mss;nop;wscale`,
  asa: (i) =>
    `<166>Mar 12 2024 09:00:00 asa-edge-1 : %ASA-6-302013: Built outbound TCP connection ${i} for outside:93.184.216.34/443 (93.184.216.34/443) to inside:10.20.40.${octet(i)}/${1024 + (i % 60000)} (203.0.113.2/${1024 + (i % 60000)})`,
  panos: (i) =>
    `1,2025/03/12 09:10:03,007200001056,TRAFFIC,end,2561,2025/03/12 09:10:03,10.20.40.${octet(i)},198.51.100.7,203.0.113.2,198.51.100.7,allow-web,,,ssl,vsys1,trust,untrust,ethernet1/2,ethernet1/1,fwd,2025/03/12 09:10:03,${i},1,${1024 + (i % 60000)},443,40001,443,0x400053,tcp,allow,5120,1024,4096,12,2025/03/12 09:09:58,5,any,0,730183,0x0,10.0.0.0-10.255.255.255,United States,0,6,6,tcp-fin,0,0,0,0,,pa-edge-1,from-policy`,
  cef: (i) =>
    `<134>Mar 12 09:10:03 fw02 CEF:0|Acme|NGFW|1.0|100|Blocked inbound|7|src=203.0.113.${octet(i)} spt=${1024 + (i % 60000)} dst=172.16.10.5 dpt=445 proto=TCP act=blocked cs1Label=Rule cs1=dmz-deny dvchost=fw02 rt=1741770603000`,
};

for (const [format, make] of Object.entries(formats)) {
  const lines = Array.from({ length: total }, (_, index) => Buffer.from(make(index)));
  for (let index = 0; index < 2000; index += 1) parseFirewallLine(lines[index]!, { homeNets });
  const started = process.hrtime.bigint();
  let records = 0;
  for (const line of lines) if (parseFirewallLine(line, { homeNets }).status === "record") records += 1;
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  if (records !== total) throw new Error(`${format}: only ${records} of ${total} lines parsed`);
  console.log(
    `${format.padEnd(9)} ${Math.round(total / seconds)
      .toLocaleString("en-US")
      .padStart(9)} lines/s (${total} lines, ${seconds.toFixed(2)} s, one core)`,
  );
}
