import { type FormEvent, useState } from "react";
import { Link, useNavigate } from "react-router";

import { api, unwrap } from "../api/client";
import { ErrorMessage, Field, Loading, SubmitButton } from "../components/forms";
import { useAction, usePageTitle } from "../components/hooks";
import { useOrganizations } from "../components/Layout";

export function OrganizationsPage() {
  usePageTitle("Organizations");
  const organizations = useOrganizations();
  const list = organizations.data;
  return (
    <>
      <h1>Organizations</h1>
      <ErrorMessage error={organizations.error} />
      {organizations.loading && !list && <Loading />}
      {list && list.length === 0 && (
        <p className="empty">You do not belong to an organization yet. Create one below.</p>
      )}
      {list && list.length > 0 && (
        <ul className="cards">
          {list.map((organization) => (
            <li key={organization.id}>
              <Link to={`/orgs/${organization.id}/products`}>{organization.name}</Link>
              <span className="muted"> — your role: {organization.role ?? "platform operator"}</span>
            </li>
          ))}
        </ul>
      )}
      <CreateOrganizationForm onCreated={organizations.reload} />
    </>
  );
}

function CreateOrganizationForm({ onCreated }: { onCreated(): void }) {
  const navigate = useNavigate();
  const action = useAction();
  const [name, setName] = useState("");
  const [slug, setSlug] = useState("");

  async function submit(event: FormEvent) {
    event.preventDefault();
    await action.run(async () => {
      const created = await unwrap(
        api.POST("/organizations", { body: { name, slug: slug.trim() || null } }),
      );
      onCreated();
      navigate(`/orgs/${created.id}/products`);
    });
  }

  return (
    <section className="card" aria-labelledby="create-org-title">
      <h2 id="create-org-title">Create an organization</h2>
      <form onSubmit={submit}>
        <Field
          label="Name"
          name="name"
          required
          maxLength={200}
          value={name}
          onChange={(event) => setName(event.target.value)}
        />
        <Field
          label="Slug (optional)"
          name="slug"
          pattern="[a-z0-9]+(-[a-z0-9]+)*"
          hint="Lower-case letters, digits and single hyphens; made from the name when empty."
          value={slug}
          onChange={(event) => setSlug(event.target.value)}
        />
        <ErrorMessage error={action.error} />
        <SubmitButton busy={action.busy}>Create organization</SubmitButton>
      </form>
    </section>
  );
}
