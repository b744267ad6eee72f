import { type FormEvent, useEffect, useState } from "react";
import { Link, useLocation, useNavigate, useParams } from "react-router";

import { api, type Schemas, unwrap } from "../api/client";
import { ApiError } from "../api/problem";
import { ErrorMessage, Field, formatDate, Loading, Notice, SubmitButton } from "../components/forms";
import { useAction, usePageTitle } from "../components/hooks";
import { formatPrice, parsePrice, priceText } from "./money";
import { useOrganization } from "./OrganizationLayout";

type Product = Schemas["ProductRead"];

interface Draft {
  name: string;
  description: string;
  sku: string;
  price: string;
  currency: string;
  is_active: boolean;
}

const EMPTY: Draft = { name: "", description: "", sku: "", price: "", currency: "EUR", is_active: true };
const CURRENCIES = ["EUR", "USD", "GBP", "CHF", "JPY", "SEK", "NOK", "DKK", "PLN", "CAD", "AUD"];

function draftOf(product: Product): Draft {
  return {
    name: product.name,
    description: product.description ?? "",
    sku: product.sku ?? "",
    price: priceText(product.price_cents, product.currency),
    currency: product.currency,
    is_active: product.is_active,
  };
}

/** The draft as a request body; null (with the reason) when the price cannot be read. */
function bodyOf(draft: Draft): { body: Schemas["ProductCreate"] } | { invalid: string } {
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
      currency: currency as Schemas["ProductCreate"]["currency"],
      is_active: draft.is_active,
    },
  };
}

/** Only the fields that differ from what was loaded: a PATCH must not undo others' changes. */
function changesOf(before: Product, after: Schemas["ProductCreate"]): Schemas["ProductUpdate"] {
  const changes: Schemas["ProductUpdate"] = {};
  if (after.name !== before.name) changes.name = after.name;
  if ((after.description ?? null) !== before.description) changes.description = after.description ?? null;
  if ((after.sku ?? null) !== before.sku) changes.sku = after.sku ?? null;
  if (after.price_cents !== before.price_cents) changes.price_cents = after.price_cents;
  if (after.currency !== before.currency) changes.currency = after.currency;
  if (after.is_active !== before.is_active) changes.is_active = after.is_active;
  return changes;
}

export function ProductPage() {
  const { productId = "new" } = useParams();
  return productId === "new" ? <NewProduct /> : <ExistingProduct key={productId} productId={productId} />;
}

function NewProduct() {
  usePageTitle("New product");
  const { organization, can } = useOrganization();
  const navigate = useNavigate();
  const action = useAction();
  const [draft, setDraft] = useState<Draft>(EMPTY);

  if (!can("products:write")) {
    return <p className="error" role="alert">Your role cannot create products.</p>;
  }

  async function submit(event: FormEvent) {
    event.preventDefault();
    const parsed = bodyOf(draft);
    if ("invalid" in parsed) return action.setError(parsed.invalid);
    await action.run(async () => {
      const created = await unwrap(
        api.POST("/organizations/{org_id}/products", {
          params: { path: { org_id: organization.id } },
          body: parsed.body,
        }),
      );
      navigate(`../${created.id}`, { relative: "path", replace: true, state: { saved: "Product created." } });
    });
  }

  return (
    <>
      <h2>New product</h2>
      <ProductForm draft={draft} onChange={setDraft} onSubmit={submit} busy={action.busy} label="Create product" />
      <ErrorMessage error={action.error} />
      <p>
        <Link to=".." relative="path">
          Back to products
        </Link>
      </p>
    </>
  );
}

function ExistingProduct({ productId }: { productId: string }) {
  const { organization, can } = useOrganization();
  const navigate = useNavigate();
  const location = useLocation();
  const action = useAction();
  const [product, setProduct] = useState<Product | null>(null);
  const [etag, setEtag] = useState<string | null>(null);
  const [draft, setDraft] = useState<Draft>(EMPTY);
  const [loadError, setLoadError] = useState<string | null>(null);
  const [saved, setSaved] = useState<string | null>((location.state as { saved?: string } | null)?.saved ?? null);
  const [theirs, setTheirs] = useState<{ product: Product; etag: string | null } | null>(null);
  usePageTitle(product?.name ?? "Product");
  const path = { org_id: organization.id, product_id: productId };

  async function fetchCurrent(): Promise<{ product: Product; etag: string | null }> {
    const result = await api.GET("/organizations/{org_id}/products/{product_id}", { params: { path } });
    const current = await unwrap(Promise.resolve(result));
    return { product: current, etag: result.response.headers.get("ETag") };
  }

  function show(current: { product: Product; etag: string | null }) {
    setProduct(current.product);
    setEtag(current.etag);
    setDraft(draftOf(current.product));
  }

  useEffect(() => {
    fetchCurrent().then(show, (error: unknown) =>
      setLoadError(error instanceof ApiError ? error.message : "Could not load the product."),
    );
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [productId]);

  async function save(base: Product, precondition: string | null) {
    const parsed = bodyOf(draft);
    if ("invalid" in parsed) return action.setError(parsed.invalid);
    const changes = changesOf(base, parsed.body);
    if (Object.keys(changes).length === 0) {
      setSaved("Nothing to save: no field changed.");
      return;
    }
    setSaved(null);
    await action.run(async () => {
      try {
        const result = await api.PATCH("/organizations/{org_id}/products/{product_id}", {
          params: { path },
          body: changes,
          headers: precondition ? { "If-Match": precondition } : {},
        });
        const updated = await unwrap(Promise.resolve(result));
        show({ product: updated, etag: result.response.headers.get("ETag") });
        setTheirs(null);
        setSaved("Saved.");
      } catch (error) {
        if (error instanceof ApiError && error.code === "version_conflict") {
          // Keep the person's edits on screen and show what changed underneath them.
          setTheirs(await fetchCurrent());
        }
        throw error;
      }
    });
  }

  async function remove() {
    if (!product || !window.confirm(`Delete “${product.name}”? This cannot be undone.`)) return;
    const done = await action.run(() =>
      unwrap(
        api.DELETE("/organizations/{org_id}/products/{product_id}", {
          params: { path },
          headers: etag ? { "If-Match": etag } : {},
        }),
      ),
    );
    if (done) navigate("..", { relative: "path", replace: true });
  }

  if (loadError) return <ErrorMessage error={loadError} />;
  if (!product) return <Loading what="Loading product" />;

  const writable = can("products:write");
  return (
    <>
      <h2>{writable ? `Edit ${product.name}` : product.name}</h2>
      {saved && <Notice>{saved}</Notice>}
      {writable ? (
        <ProductForm
          draft={draft}
          onChange={setDraft}
          onSubmit={(event) => {
            event.preventDefault();
            void save(product, etag);
          }}
          busy={action.busy}
          label="Save changes"
        />
      ) : (
        <ProductFacts product={product} />
      )}
      <ErrorMessage error={action.error} />
      {theirs && (
        <section className="card conflict" aria-labelledby="conflict-title">
          <h3 id="conflict-title">This product was changed by someone else</h3>
          <p>Their version (saved {formatDate(theirs.product.updated_at)}):</p>
          <ProductFacts product={theirs.product} />
          <p className="actions">
            <button
              type="button"
              onClick={() => {
                show(theirs);
                setTheirs(null);
                action.setError(null);
              }}
            >
              Discard my changes and load theirs
            </button>
            <button type="button" className="secondary" onClick={() => save(product, theirs.etag)}>
              Apply my changes to their version
            </button>
          </p>
        </section>
      )}
      <p className="muted small">
        Version {product.version} · updated {formatDate(product.updated_at)}
      </p>
      {can("products:delete") && (
        <button type="button" className="danger" onClick={remove} disabled={action.busy}>
          Delete product
        </button>
      )}
      <p>
        <Link to=".." relative="path">
          Back to products
        </Link>
      </p>
    </>
  );
}

function ProductFacts({ product }: { product: Product }) {
  return (
    <dl className="facts">
      <dt>Name</dt>
      <dd>{product.name}</dd>
      <dt>Description</dt>
      <dd>{product.description ?? "—"}</dd>
      <dt>SKU</dt>
      <dd>{product.sku ?? "—"}</dd>
      <dt>Price</dt>
      <dd>{formatPrice(product.price_cents, product.currency)}</dd>
      <dt>Status</dt>
      <dd>{product.is_active ? "Active" : "Inactive"}</dd>
    </dl>
  );
}

function ProductForm({
  draft,
  onChange,
  onSubmit,
  busy,
  label,
}: {
  draft: Draft;
  onChange(draft: Draft): void;
  onSubmit(event: FormEvent): void;
  busy: boolean;
  label: string;
}) {
  const set = (changes: Partial<Draft>) => onChange({ ...draft, ...changes });
  return (
    <form onSubmit={onSubmit} className="product-form">
      <Field label="Name" name="name" required maxLength={200} value={draft.name} onChange={(e) => set({ name: e.target.value })} />
      <div className="field">
        <label htmlFor="product-description">Description</label>
        <textarea
          id="product-description"
          name="description"
          rows={3}
          value={draft.description}
          onChange={(e) => set({ description: e.target.value })}
        />
      </div>
      <Field label="SKU (optional)" name="sku" maxLength={64} value={draft.sku} onChange={(e) => set({ sku: e.target.value })} />
      <div className="inline">
        <Field
          label="Price"
          name="price"
          inputMode="decimal"
          required
          placeholder="12.50"
          value={draft.price}
          onChange={(e) => set({ price: e.target.value })}
        />
        <Field
          label="Currency"
          name="currency"
          required
          list="currencies"
          pattern="[A-Za-z]{3}"
          maxLength={3}
          value={draft.currency}
          onChange={(e) => set({ currency: e.target.value.toUpperCase() })}
        />
        <datalist id="currencies">
          {CURRENCIES.map((code) => (
            <option key={code} value={code} />
          ))}
        </datalist>
      </div>
      <div className="field checkbox">
        <input
          id="product-active"
          name="is_active"
          type="checkbox"
          checked={draft.is_active}
          onChange={(e) => set({ is_active: e.target.checked })}
        />
        <label htmlFor="product-active">Active (offered for sale)</label>
      </div>
      <SubmitButton busy={busy}>{label}</SubmitButton>
    </form>
  );
}
