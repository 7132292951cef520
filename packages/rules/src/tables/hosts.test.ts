import { describe, expect, it } from "vitest";
import { HostIndex } from "./hosts.ts";
import { buildHost } from "./testing.ts";

const seen = (ip: string, time: string) => ({
  ip,
  first_seen: time,
  last_seen: time,
  source: "dhcp" as const,
});

describe("HostIndex", () => {
  it("finds hosts by id, every current address and every name", () => {
    const index = new HostIndex();
    const host = buildHost({
      netbios_name: "WS-001",
      names: ["ws-001", "ws-001.corp.example", "intranet.corp.example"],
      ips: [seen("10.20.40.21", "2024-03-12T05:00:00Z"), seen("2001:db8::21", "2024-03-12T05:00:00Z")],
    });
    index.upsert(host);
    expect(index.get("host-test-ws-001")).toBe(host);
    expect(index.byIp("10.20.40.21")).toBe(host);
    expect(index.byIp("::ffff:10.20.40.21")).toBe(host);
    expect(index.byIp("2001:0db8:0:0::21")).toBe(host);
    for (const name of ["ws-001", "WS-001.corp.example", "intranet.corp.example"])
      expect(index.resolveName(name)).toBe(host);
    expect(index.resolveName("ws-001.other.example")).toBe(host);
    expect(index.byIp("not an address")).toBeUndefined();
    expect([index.size, index.addressCount, index.nameCount]).toEqual([1, 2, 3]);
  });

  it("moves an address to the host last seen with it, and back when that host lets it go", () => {
    const index = new HostIndex();
    const laptop = buildHost({
      id: "lt-006",
      names: ["lt-006"],
      hostname: "lt-006",
      fqdn: "lt-006.corp.example",
      ips: [seen("10.20.43.7", "2024-03-11T10:00:00Z")],
    });
    const phone = buildHost({
      id: "guest-phone",
      names: ["guest-phone"],
      hostname: "guest-phone",
      fqdn: "guest-phone.corp.example",
      ips: [seen("10.20.43.7", "2024-03-12T04:00:00Z")],
    });
    index.upsert(phone);
    index.upsert(laptop); // an older state applied later does not take the address back
    expect(index.byIp("10.20.43.7")?.id).toBe("guest-phone");
    index.upsert({ ...phone, ips: [] });
    expect(index.byIp("10.20.43.7")?.id).toBe("lt-006");
    index.upsert({ ...laptop, ips: [seen("10.20.43.99", "2024-03-12T05:00:00Z")] });
    expect(index.byIp("10.20.43.7")).toBeUndefined();
    expect(index.byIp("10.20.43.99")?.id).toBe("lt-006");
  });

  it("forgets a host on a tombstone, and names it no longer has on an update", () => {
    const index = new HostIndex();
    const host = buildHost();
    index.upsert(host);
    index.upsert({
      ...host,
      names: ["ws-001-renamed"],
      hostname: "ws-001-renamed",
      fqdn: "ws-001-renamed.corp.example",
    });
    expect(index.resolveName("ws-001")).toBeUndefined();
    expect(index.resolveName("ws-001-renamed")?.id).toBe(host.id);
    expect(index.remove(host.id)).toBe(true);
    expect(index.remove(host.id)).toBe(false);
    expect([index.size, index.addressCount, index.nameCount]).toEqual([0, 0, 0]);
  });

  it("does not guess between two hosts of one name", () => {
    const index = new HostIndex();
    index.upsert(
      buildHost({
        id: "corp",
        names: ["ws-041", "ws-041.corp.example"],
        hostname: "ws-041",
        fqdn: "ws-041.corp.example",
      }),
    );
    index.upsert(
      buildHost({
        id: "lab",
        names: ["ws-041", "ws-041.lab.example"],
        hostname: "ws-041",
        fqdn: "ws-041.lab.example",
        ips: [],
      }),
    );
    expect(
      index
        .byName("ws-041")
        .map((host) => host.id)
        .sort(),
    ).toEqual(["corp", "lab"]);
    expect(index.resolveName("ws-041")).toBeUndefined();
    expect(index.resolveName("ws-041.lab.example")?.id).toBe("lab");
  });
});
