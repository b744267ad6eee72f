import { describe, expect, it } from "vitest";

import { parsePrice, priceText } from "./money";

describe("prices", () => {
  it("turns typed decimals into minor units exactly", () => {
    expect(parsePrice("12.5", "EUR")).toBe(1250);
    expect(parsePrice("0,99", "EUR")).toBe(99);
    expect(parsePrice("19.99", "USD")).toBe(1999); // 19.99 * 100 is 1998.9999… in floats
    expect(parsePrice("1200", "JPY")).toBe(1200);
  });

  it("refuses what is not a price", () => {
    expect(parsePrice("", "EUR")).toBeNull();
    expect(parsePrice("-1", "EUR")).toBeNull();
    expect(parsePrice("1.234", "EUR")).toBeNull();
    expect(parsePrice("1.5", "JPY")).toBeNull();
    expect(parsePrice("abc", "EUR")).toBeNull();
  });

  it("writes minor units back as decimals", () => {
    expect(priceText(1250, "EUR")).toBe("12.50");
    expect(priceText(5, "EUR")).toBe("0.05");
    expect(priceText(1200, "JPY")).toBe("1200");
  });
});
