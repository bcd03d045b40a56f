import { describe, expect, it } from "vitest";
import { classifyAddress } from "../../src/webhooks/address.js";

describe("classifyAddress", () => {
  it.each([
    "8.8.8.8", "1.1.1.1", "93.184.216.34", "172.15.255.255", "172.32.0.1", "100.63.255.255", "100.128.0.1",
    "2606:4700:4700::1111", "2a00:1450:4001:82a::200e",
    // An IPv4 address inside an IPv6 one is judged by the IPv4 address.
    "::ffff:8.8.8.8", "64:ff9b::808:808",
  ])("%s is public", (address) => {
    expect(classifyAddress(address)).toEqual({ public: true });
  });

  it.each([
    ["127.0.0.1", "loopback"],
    ["127.255.255.254", "loopback"],
    ["::1", "loopback"],
    ["10.0.0.1", "private"],
    ["172.16.0.1", "private"],
    ["172.31.255.255", "private"],
    ["192.168.1.1", "private"],
    ["169.254.169.254", "linkLocal"],
    ["fe80::1", "linkLocal"],
    ["fe80::1%eth0", "linkLocal"],
    ["0.0.0.0", "unspecified"],
    ["0.1.2.3", "unspecified"],
    ["::", "unspecified"],
    ["100.64.0.1", "carrierGradeNat"],
    ["100.127.255.255", "carrierGradeNat"],
    ["224.0.0.1", "multicast"],
    ["ff02::1", "multicast"],
    ["255.255.255.255", "broadcast"],
    ["fc00::1", "uniqueLocal"],
    ["fd12:3456:789a::1", "uniqueLocal"],
    ["192.0.2.1", "reserved"],
    ["240.0.0.1", "reserved"],
    ["2001:db8::1", "reserved"],
    ["198.18.0.1", "reserved"],
    ["::ffff:127.0.0.1", "ipv4Mapped loopback"],
    ["::ffff:7f00:1", "ipv4Mapped loopback"],
    ["::ffff:10.1.2.3", "ipv4Mapped private"],
    ["::ffff:169.254.169.254", "ipv4Mapped linkLocal"],
    ["64:ff9b::a00:1", "nat64 private"],
    ["64:ff9b:1::1", "rfc6052"],
    ["::127.0.0.1", "ipv4Compatible"],
    ["::7f00:1", "ipv4Compatible"],
    ["::8.8.8.8", "ipv4Compatible"],
    ["2002:7f00:1::1", "6to4"],
    ["2001:0:4136:e378::1", "teredo"],
  ])("%s is not public: %s", (address, range) => {
    expect(classifyAddress(address)).toEqual({ public: false, range });
  });

  it.each(["localhost", "example.com", "", "1.2.3", "0x7f.1", "::g", "[::1]", "1.2.3.4.5"])("rejects %j, which is not an IP address", (text) => {
    expect(() => classifyAddress(text)).toThrow(TypeError);
  });
});
