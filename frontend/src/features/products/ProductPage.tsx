import { type FormEvent, useState } from "react";
import { Link, useLocation, useNavigate, useParams } from "react-router";

import { ApiError } from "../../api/problem";
import { ErrorMessage, Field, formatDate, Loading, Notice, SubmitButton } from "../../shared/forms";
import { useAction, usePageTitle } from "../../shared/hooks";
import { useOrganization } from "../organizations/OrganizationLayout";
import type { Product, Versioned } from "./api";
import { bodyOf, changesOf, type Draft, draftOf, EMPTY_DRAFT } from "./draft";
import { useCreateProduct, useDeleteProduct, useFetchCurrentProduct, useProduct, useUpdateProduct } from "./hooks";
import { formatPrice } from "./money";

const CURRENCIES = ["EUR", "USD", "GBP", "CHF", "JPY", "SEK", "NOK", "DKK", "PLN", "CAD", "AUD"];

export function ProductPage() {
  const { productId = "new" } = useParams();
  return productId === "new" ? <NewProduct /> : <ExistingProduct key={productId} productId={productId} />;
}

function NewProduct() {
  usePageTitle("New product");
  const { organization, can } = useOrganization();
  const navigate = useNavigate();
  const action = useAction();
  const createProduct = useCreateProduct(organization.id);
  const [draft, setDraft] = useState<Draft>(EMPTY_DRAFT);

  if (!can("products:write")) {
    return <p className="error" role="alert">Your role cannot create products.</p>;
  }

  async function submit(event: FormEvent) {
    event.preventDefault();
    const parsed = bodyOf(draft);
    if ("invalid" in parsed) return action.setError(parsed.invalid);
    await action.run(async () => {
      const created = await createProduct.mutateAsync(parsed.body);
      void navigate(`../${created.id}`, { relative: "path", replace: true, state: { saved: "Product created." } });
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
  const { organization } = useOrganization();
  const opened = useProduct(organization.id, productId);
  if (opened.data) return <ProductEditor productId={productId} opened={opened.data} />;
  const error = opened.error
    ? opened.error instanceof ApiError
      ? opened.error.message
      : "Could not load the product."
    : null;
  return <ProductLoading error={error} />;
}

function ProductLoading({ error }: { error: string | null }) {
  usePageTitle("Product");
  return error ? <ErrorMessage error={error} /> : <Loading what="Loading product" />;
}

/**
 * Edits the version it was opened with (`opened`), kept in this component's state: saving
 * sends that version's ETag, so a change made meanwhile by someone else is a conflict shown
 * here, never silently overwritten.
 */
function ProductEditor({ productId, opened }: { productId: string; opened: Versioned }) {
  const { organization, can } = useOrganization();
  const navigate = useNavigate();
  const location = useLocation();
  const action = useAction();
  const updateProduct = useUpdateProduct(organization.id, productId);
  const deleteProduct = useDeleteProduct(organization.id, productId);
  const fetchCurrent = useFetchCurrentProduct(organization.id, productId);
  const [{ product, etag }, setBase] = useState<Versioned>(opened);
  const [draft, setDraft] = useState<Draft>(() => draftOf(opened.product));
  const [saved, setSaved] = useState<string | null>((location.state as { saved?: string } | null)?.saved ?? null);
  const [theirs, setTheirs] = useState<Versioned | null>(null);
  usePageTitle(product.name);

  function show(current: Versioned) {
    setBase(current);
    setDraft(draftOf(current.product));
  }

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
        show(await updateProduct.mutateAsync({ changes, ifMatch: precondition }));
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
    if (!window.confirm(`Delete “${product.name}”? This cannot be undone.`)) return;
    if (await action.run(() => deleteProduct.mutateAsync(etag))) void navigate("..", { relative: "path", replace: true });
  }

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
  onChange: (draft: Draft) => void;
  onSubmit: (event: FormEvent) => void;
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
