import { describe, expect, it } from "vitest";

import type { Product } from "./api";
import { bodyOf, changesOf, draftOf, EMPTY_DRAFT } from "./draft";

const PRODUCT: Product = {
  id: "p1",
  organization_id: "o1",
  name: "Anvil",
  description: null,
  sku: "ANV-1",
  price_cents: 1250,
  currency: "EUR",
  is_active: true,
  version: 1,
  created_at: "2026-01-01T00:00:00Z",
  created_by: null,
  updated_at: "2026-01-01T00:00:00Z",
};

describe("the product form", () => {
  it("shows a product's price as the decimal a person types", () => {
    expect(draftOf(PRODUCT)).toEqual({
      name: "Anvil",
      description: "",
      sku: "ANV-1",
      price: "12.50",
      currency: "EUR",
      is_active: true,
    });
  });

  it("sends empty optional fields as null and the price in minor units", () => {
    const parsed = bodyOf({ ...EMPTY_DRAFT, name: "Skates", price: "99", currency: "eur", sku: "  " });
    expect(parsed).toEqual({
      body: { name: "Skates", description: null, sku: null, price_cents: 9900, currency: "EUR", is_active: true },
    });
  });

  it("refuses a price that is not one, naming the currency", () => {
    expect(bodyOf({ ...EMPTY_DRAFT, name: "Yen", price: "1.5", currency: "JPY" })).toEqual({
      invalid: "Price: write an amount such as 12.50 (JPY has at most the usual decimals).",
    });
  });

  it("patches only what changed, so others' changes to other fields stay", () => {
    const parsed = bodyOf({ ...draftOf(PRODUCT), name: "Anvil Pro", price: "15.00" });
    if ("invalid" in parsed) throw new Error(parsed.invalid);
    expect(changesOf(PRODUCT, parsed.body)).toEqual({ name: "Anvil Pro", price_cents: 1500 });
  });

  it("finds nothing to patch in an untouched form", () => {
    const parsed = bodyOf(draftOf(PRODUCT));
    if ("invalid" in parsed) throw new Error(parsed.invalid);
    expect(changesOf(PRODUCT, parsed.body)).toEqual({});
  });

  it("clears a field with null", () => {
    const parsed = bodyOf({ ...draftOf(PRODUCT), sku: "" });
    if ("invalid" in parsed) throw new Error(parsed.invalid);
    expect(changesOf(PRODUCT, parsed.body)).toEqual({ sku: null });
  });
});
