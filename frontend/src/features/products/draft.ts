/** The product form's text fields, and the request bodies made from them. */
import type { Product, ProductCreate, ProductUpdate } from "./api";
import { parsePrice, priceText } from "./money";

export interface Draft {
  name: string;
  description: string;
  sku: string;
  price: string;
  currency: string;
  is_active: boolean;
}

export const EMPTY_DRAFT: Draft = { name: "", description: "", sku: "", price: "", currency: "EUR", is_active: true };

export function draftOf(product: Product): Draft {
  return {
    name: product.name,
    description: product.description ?? "",
    sku: product.sku ?? "",
    price: priceText(product.price_cents, product.currency),
    currency: product.currency,
    is_active: product.is_active,
  };
}

/** The draft as a request body, or the reason it cannot be one (a price that is no price). */
export function bodyOf(draft: Draft): { body: ProductCreate } | { invalid: string } {
  const currency = draft.currency.trim().toUpperCase();
  const price_cents = parsePrice(draft.price, currency);
  if (price_cents === null) {
    return { invalid: `Price: write an amount such as 12.50 (${currency} has at most the usual decimals).` };
  }
  return {
    body: {
      name: draft.name,
      description: draft.description.trim() ? draft.description : null,
      sku: draft.sku.trim() || null,
      price_cents,
      // Typed by hand: the service answers an unknown code with a 422 the form shows.
      currency: currency as ProductCreate["currency"],
      is_active: draft.is_active,
    },
  };
}

/** Only the fields that differ from what was loaded: a PATCH must not undo others' changes. */
export function changesOf(before: Product, after: ProductCreate): ProductUpdate {
  const changes: ProductUpdate = {};
  if (after.name !== before.name) changes.name = after.name;
  if ((after.description ?? null) !== before.description) changes.description = after.description ?? null;
  if ((after.sku ?? null) !== before.sku) changes.sku = after.sku ?? null;
  if (after.price_cents !== before.price_cents) changes.price_cents = after.price_cents;
  if (after.currency !== before.currency) changes.currency = after.currency;
  if (after.is_active !== before.is_active) changes.is_active = after.is_active;
  return changes;
}
