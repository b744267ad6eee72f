import { type FormEvent, useState } from "react";
import { Link, useSearchParams } from "react-router";

import { ErrorMessage, Field, Loading } from "../../shared/forms";
import { errorText, usePageTitle } from "../../shared/hooks";
import { Pager } from "../../shared/Pager";
import { useOrganization } from "../organizations/OrganizationLayout";
import type { ProductFilter } from "./api";
import { useProducts } from "./hooks";
import { formatPrice } from "./money";

function statusOf(value: string | null): ProductFilter["status"] {
  return value === "active" || value === "inactive" ? value : "all";
}

export function ProductsPage() {
  usePageTitle("Products");
  const { organization, can } = useOrganization();
  const [params, setParams] = useSearchParams();
  const q = params.get("q") ?? "";
  const status = statusOf(params.get("status"));
  const cursor = params.get("cursor") ?? undefined;
  // Cursors of the pages before this one, for "Previous" (keyset paging only goes forward).
  const [earlier, setEarlier] = useState<(string | undefined)[]>([]);
  const [search, setSearch] = useState(q);

  const products = useProducts(organization.id, { q, status, cursor });

  function show(changes: Record<string, string | undefined>) {
    const next = new URLSearchParams(params);
    for (const [key, value] of Object.entries(changes)) {
      if (value) next.set(key, value);
      else next.delete(key);
    }
    setParams(next);
  }

  function submitSearch(event: FormEvent) {
    event.preventDefault();
    setEarlier([]);
    show({ q: search.trim() || undefined, cursor: undefined });
  }

  const items = products.data?.items;
  return (
    <>
      <div className="toolbar">
        <h2>Products</h2>
        {can("products:write") && (
          <Link className="button" to="new">
            New product
          </Link>
        )}
      </div>
      <form role="search" onSubmit={submitSearch} className="inline">
        <Field
          label="Search by name or SKU"
          name="q"
          type="search"
          value={search}
          onValue={setSearch}
        />
        <div className="field">
          <label htmlFor="status-filter">Status</label>
          <select
            id="status-filter"
            value={status}
            onChange={(event) => {
              setEarlier([]);
              show({ status: event.target.value === "all" ? undefined : event.target.value, cursor: undefined });
            }}
          >
            <option value="all">All</option>
            <option value="active">Active</option>
            <option value="inactive">Inactive</option>
          </select>
        </div>
        <button type="submit">Search</button>
      </form>
      <ErrorMessage error={errorText(products.error)} />
      {products.isFetching && <Loading what="Loading products" />}
      {!products.isFetching && items && items.length === 0 && (
        <p className="empty">
          {q || status !== "all"
            ? "No product matches this search."
            : can("products:write")
              ? "No products yet. Create the first one."
              : "No products yet."}
        </p>
      )}
      {items && items.length > 0 && (
        <table aria-busy={products.isFetching}>
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">SKU</th>
              <th scope="col" className="number">
                Price
              </th>
              <th scope="col">Status</th>
            </tr>
          </thead>
          <tbody>
            {items.map((product) => (
              <tr key={product.id}>
                <td>
                  <Link to={product.id}>{product.name}</Link>
                </td>
                <td>{product.sku ?? "—"}</td>
                <td className="number">{formatPrice(product.price_cents, product.currency)}</td>
                <td>{product.is_active ? "Active" : "Inactive"}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <Pager
        previousLabel="Previous page"
        nextLabel="Next page"
        onPrevious={
          earlier.length > 0
            ? () => {
                const previous = earlier.slice(0, -1);
                show({ cursor: earlier.at(-1) });
                setEarlier(previous);
              }
            : undefined
        }
        onNext={
          products.data?.next_cursor
            ? () => {
                setEarlier([...earlier, cursor]);
                show({ cursor: products.data?.next_cursor ?? undefined });
              }
            : undefined
        }
      />
    </>
  );
}
