import { describe, expect, it } from "vitest";
import { CidrError, cidrContains, DEFAULT_HOME_NETS, ipFamily, NetworkSet, parseCidr } from "./network.ts";

describe("parseCidr", () => {
  it("reads IPv4 and IPv6 blocks and bare addresses", () => {
    expect(parseCidr("10.20.0.0/16")).toEqual({ address: "10.20.0.0", prefix: 16, family: "ipv4" });
    expect(parseCidr(" fc00::/7 ")).toEqual({ address: "fc00::", prefix: 7, family: "ipv6" });
    expect(parseCidr("10.20.1.10")).toEqual({ address: "10.20.1.10", prefix: 32, family: "ipv4" });
    expect(parseCidr("2001:db8::1")).toEqual({ address: "2001:db8::1", prefix: 128, family: "ipv6" });
    expect(parseCidr("0.0.0.0/0").prefix).toBe(0);
  });

  it.each([
    ["10.20.0.0/33", "prefix length must be 0-32"],
    ["2001:db8::/129", "prefix length must be 0-128"],
    ["10.20.0.0/", "prefix length"],
    ["10.20.0.0/-1", "prefix length"],
    ["10.20.0.0/1a", "prefix length"],
    ["10.20.0/16", "is not an IP address"],
    ["10.20.0.256/24", "is not an IP address"],
    ["corp.example/24", "is not an IP address"],
    ["fe80::1%eth0/64", "is not an IP address"],
    ["", "is not an IP address"],
  ])("refuses %j", (text, message) => {
    expect(() => parseCidr(text)).toThrow(CidrError);
    expect(() => parseCidr(text)).toThrow(message);
  });
});

describe("NetworkSet", () => {
  const home = new NetworkSet(["10.20.0.0/16", "172.16.10.0/24", "2001:db8:100::/48"]);

  it("contains addresses inside any block, at the edges too", () => {
    expect(home.contains("10.20.0.0")).toBe(true);
    expect(home.contains("10.20.255.255")).toBe(true);
    expect(home.contains("172.16.10.5")).toBe(true);
    expect(home.contains("2001:db8:100::1")).toBe(true);
    expect(home.contains("2001:db8:100:ffff:ffff:ffff:ffff:ffff")).toBe(true);
  });

  it("does not contain addresses just outside", () => {
    expect(home.contains("10.21.0.0")).toBe(false);
    expect(home.contains("10.19.255.255")).toBe(false);
    expect(home.contains("172.16.11.1")).toBe(false);
    expect(home.contains("2001:db8:101::1")).toBe(false);
    expect(home.contains("203.0.113.7")).toBe(false);
  });

  it("masks host bits given in a block", () => {
    expect(cidrContains("10.20.1.5/16", "10.20.200.1")).toBe(true);
    expect(cidrContains("10.20.1.5/16", "10.21.0.1")).toBe(false);
  });

  it("treats an IPv4-mapped IPv6 address as the IPv4 host, and never mixes families otherwise", () => {
    expect(home.contains("::ffff:10.20.3.4")).toBe(true);
    expect(new NetworkSet(["::/0"]).contains("10.20.3.4")).toBe(false);
    expect(new NetworkSet(["0.0.0.0/0"]).contains("2001:db8::1")).toBe(false);
    expect(new NetworkSet(["0.0.0.0/0"]).contains("8.8.8.8")).toBe(true);
  });

  it("answers false for what is not an address", () => {
    expect(home.contains("not-an-ip")).toBe(false);
    expect(home.contains("")).toBe(false);
    expect(home.contains("10.20.0.1%eth0")).toBe(false);
  });

  it("covers private, CGNAT, unique-local, loopback and link-local space by default", () => {
    const defaults = new NetworkSet(DEFAULT_HOME_NETS);
    for (const inside of [
      "10.1.2.3",
      "172.31.255.1",
      "192.168.1.1",
      "100.64.0.1",
      "127.0.0.1",
      "169.254.1.1",
    ]) {
      expect(defaults.contains(inside), inside).toBe(true);
    }
    for (const inside of ["fd00::1", "fc00::1", "::1", "fe80::1"])
      expect(defaults.contains(inside), inside).toBe(true);
    for (const outside of ["172.32.0.1", "100.128.0.1", "8.8.8.8", "2001:db8::1", "fe00::1"]) {
      expect(defaults.contains(outside), outside).toBe(false);
    }
  });
});

describe("ipFamily", () => {
  it("names the family or nothing", () => {
    expect(ipFamily("10.0.0.1")).toBe("ipv4");
    expect(ipFamily("::1")).toBe("ipv6");
    expect(ipFamily("010.0.0.1")).toBeUndefined();
    expect(ipFamily("fe80::1%eth0")).toBeUndefined();
  });
});
