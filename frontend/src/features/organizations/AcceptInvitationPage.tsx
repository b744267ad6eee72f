import { useState } from "react";
import { Link, useNavigate, useSearchParams } from "react-router";

import { useAuth } from "../../auth/AuthProvider";
import { ErrorMessage, Loading } from "../../shared/forms";
import { useAction, usePageTitle } from "../../shared/hooks";
import { useAcceptInvitation } from "./hooks";

export function AcceptInvitationPage() {
  usePageTitle("Accept invitation");
  const [params] = useSearchParams();
  const token = params.get("token");
  const { status, user } = useAuth();
  const navigate = useNavigate();
  const action = useAction();
  const acceptInvitation = useAcceptInvitation();
  const [accepted, setAccepted] = useState(false);
  const here = `/accept-invitation?token=${encodeURIComponent(token ?? "")}`;

  if (!token) {
    return (
      <section>
        <h1>Accept invitation</h1>
        <p className="error" role="alert">
          This page needs the link from the invitation mail.
        </p>
      </section>
    );
  }
  if (status === "unknown") return <Loading />;
  if (status === "signed-out") {
    return (
      <section>
        <h1>You are invited</h1>
        <p>Sign in, or create an account with the address the invitation was sent to, to join.</p>
        <p className="actions">
          <Link className="button" to={`/signin?next=${encodeURIComponent(here)}`}>
            Sign in
          </Link>
          <Link className="button secondary" to={`/signup?next=${encodeURIComponent(here)}`}>
            Create an account
          </Link>
        </p>
      </section>
    );
  }

  async function accept() {
    await action.run(async () => {
      const membership = await acceptInvitation.mutateAsync(token ?? "");
      setAccepted(true);
      void navigate(`/orgs/${membership.organization.id}/products`, { replace: true });
    });
  }

  return (
    <section>
      <h1>Accept invitation</h1>
      <p>
        Join the organization as <strong>{user?.email}</strong>.
      </p>
      <ErrorMessage error={action.error} />
      <button type="button" onClick={accept} disabled={action.busy || accepted}>
        {action.busy ? "Joining…" : "Accept invitation"}
      </button>
    </section>
  );
}
