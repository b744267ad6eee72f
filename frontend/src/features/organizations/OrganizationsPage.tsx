import { type FormEvent, useState } from "react";
import { Link, useNavigate } from "react-router";

import { ErrorMessage, Field, Loading, SubmitButton } from "../../shared/forms";
import { errorText, useAction, usePageTitle } from "../../shared/hooks";
import { useCreateOrganization, useMyOrganizations } from "./hooks";

export function OrganizationsPage() {
  usePageTitle("Organizations");
  const organizations = useMyOrganizations();
  const list = organizations.data;
  return (
    <>
      <h1>Organizations</h1>
      <ErrorMessage error={errorText(organizations.error)} />
      {organizations.isPending && <Loading />}
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
      <CreateOrganizationForm />
    </>
  );
}

function CreateOrganizationForm() {
  const navigate = useNavigate();
  const action = useAction();
  const create = useCreateOrganization();
  const [name, setName] = useState("");
  const [slug, setSlug] = useState("");

  async function submit(event: FormEvent) {
    event.preventDefault();
    await action.run(async () => {
      const created = await create.mutateAsync({ name, slug: slug.trim() || null });
      void navigate(`/orgs/${created.id}/products`);
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
          onValue={setName}
        />
        <Field
          label="Slug (optional)"
          name="slug"
          pattern="[a-z0-9]+(-[a-z0-9]+)*"
          hint="Lower-case letters, digits and single hyphens; made from the name when empty."
          value={slug}
          onValue={setSlug}
        />
        <ErrorMessage error={action.error} />
        <SubmitButton busy={action.busy}>Create organization</SubmitButton>
      </form>
    </section>
  );
}
