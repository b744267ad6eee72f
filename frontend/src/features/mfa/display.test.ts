import { describe, expect, it } from "vitest";

import { groupSecret, recoveryCodesText, svgDataUrl } from "./display";

describe("svgDataUrl", () => {
  it("encodes the markup so it cannot leave the attribute", () => {
    const url = svgDataUrl('<svg xmlns="http://www.w3.org/2000/svg"><rect width="1" height="1"/></svg>');
    expect(url.startsWith("data:image/svg+xml;utf8,")).toBe(true);
    const payload = url.slice("data:image/svg+xml;utf8,".length);
    expect(payload).not.toMatch(/[<>"' #]/);
    expect(decodeURIComponent(payload)).toContain("<rect");
  });
});

describe("groupSecret", () => {
  it("splits a base32 secret into groups of four", () => {
    expect(groupSecret("JBSWY3DPEHPK3PXP")).toBe("JBSW Y3DP EHPK 3PXP");
    expect(groupSecret("ABCDEF")).toBe("ABCD EF");
  });
});

describe("recoveryCodesText", () => {
  it("lists every code on its own line under a heading naming the account", () => {
    const text = recoveryCodesText(["aaaa-bbbb", "cccc-dddd"], "ada@example.com");
    const lines = text.split("\n");
    expect(lines[0]).toBe("Tenantry recovery codes for ada@example.com");
    expect(lines).toContain("aaaa-bbbb");
    expect(lines).toContain("cccc-dddd");
    expect(text.endsWith("\n")).toBe(true);
  });
});
