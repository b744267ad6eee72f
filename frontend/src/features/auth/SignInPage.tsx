import { type FormEvent, useState } from "react";
import { Link, Navigate, useNavigate, useSearchParams } from "react-router";

import { useAuth } from "../../auth/AuthProvider";
import { ErrorMessage, Field, SubmitButton } from "../../shared/forms";
import { useAction, usePageTitle } from "../../shared/hooks";
import { safeNext } from "../../shared/RequireAuth";

export function SignInPage() {
  usePageTitle("Sign in");
  const { status, signIn } = useAuth();
  const [params] = useSearchParams();
  const navigate = useNavigate();
  const action = useAction();
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const next = safeNext(params.get("next"));

  if (status === "signed-in") return <Navigate to={next} replace />;

  async function submit(event: FormEvent) {
    event.preventDefault();
    if (await action.run(() => signIn(email, password))) void navigate(next, { replace: true });
  }

  const nextQuery = params.get("next") ? `?next=${encodeURIComponent(next)}` : "";
  return (
    <section aria-labelledby="signin-title">
      <h1 id="signin-title">Sign in</h1>
      {params.get("reset") === "1" && (
        <p className="notice" role="status">
          Your password was changed. Sign in with the new one.
        </p>
      )}
      <form onSubmit={submit} noValidate={false}>
        <Field
          label="Email"
          name="email"
          type="email"
          autoComplete="username"
          required
          value={email}
          onValue={setEmail}
        />
        <Field
          label="Password"
          name="password"
          type="password"
          autoComplete="current-password"
          required
          value={password}
          onValue={setPassword}
        />
        <ErrorMessage error={action.error} />
        <SubmitButton busy={action.busy}>Sign in</SubmitButton>
      </form>
      <p>
        <Link to="/forgot-password">Forgot your password?</Link>
      </p>
      <p>
        New here? <Link to={`/signup${nextQuery}`}>Create an account</Link>
      </p>
    </section>
  );
}
