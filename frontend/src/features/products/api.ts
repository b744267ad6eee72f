/** Products of one organization: the calls of this feature. */
import { api, type Schemas, unwrap } from "../../api/client";

export type Product = Schemas["ProductRead"];
export type ProductCreate = Schemas["ProductCreate"];
export type ProductUpdate = Schemas["ProductUpdate"];

/** A product with the ETag of the version read: the `If-Match` of the next write. */
export interface Versioned {
  product: Product;
  etag: string | null;
}

export interface ProductFilter {
  q: string;
  status: "all" | "active" | "inactive";
  cursor: string | undefined;
}

export const PAGE_SIZE = 20;

export function listProducts(org_id: string, filter: ProductFilter) {
  return unwrap(
    api.GET("/organizations/{org_id}/products", {
      params: {
        path: { org_id },
        query: {
          q: filter.q || undefined,
          is_active: filter.status === "all" ? undefined : filter.status === "active",
          limit: PAGE_SIZE,
          cursor: filter.cursor,
        },
      },
    }),
  );
}

export async function getProduct(org_id: string, product_id: string): Promise<Versioned> {
  const result = await api.GET("/organizations/{org_id}/products/{product_id}", {
    params: { path: { org_id, product_id } },
  });
  return { product: await unwrap(Promise.resolve(result)), etag: result.response.headers.get("ETag") };
}

export function createProduct(org_id: string, body: ProductCreate) {
  return unwrap(api.POST("/organizations/{org_id}/products", { params: { path: { org_id } }, body }));
}

/** PATCH with `If-Match`: a stale precondition is refused with `version_conflict`. */
export async function updateProduct(
  org_id: string,
  product_id: string,
  changes: ProductUpdate,
  ifMatch: string | null,
): Promise<Versioned> {
  const result = await api.PATCH("/organizations/{org_id}/products/{product_id}", {
    params: { path: { org_id, product_id } },
    body: changes,
    headers: ifMatch ? { "If-Match": ifMatch } : {},
  });
  return { product: await unwrap(Promise.resolve(result)), etag: result.response.headers.get("ETag") };
}

export function deleteProduct(org_id: string, product_id: string, ifMatch: string | null) {
  return unwrap(
    api.DELETE("/organizations/{org_id}/products/{product_id}", {
      params: { path: { org_id, product_id } },
      headers: ifMatch ? { "If-Match": ifMatch } : {},
    }),
  );
}
