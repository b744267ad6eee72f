import { describe, expect, it } from "vitest";

import { describeAgent } from "./agent";

describe("a session's device", () => {
  it("names the browser and the system", () => {
    const chrome =
      "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0.0.0 Safari/537.36";
    expect(describeAgent(chrome)).toBe("Chrome on Linux");
    expect(describeAgent("Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:140.0) Gecko/20100101 Firefox/140.0")).toBe(
      "Firefox on Windows",
    );
  });

  it("falls back to the raw text, shortened, or to unknown", () => {
    expect(describeAgent("python-httpx/0.28.1")).toBe("python-httpx/0.28.1");
    expect(describeAgent("x".repeat(100))).toHaveLength(60);
    expect(describeAgent(null)).toBe("Unknown device");
  });
});
