import { type FormEvent, useState } from "react";
import { Link, Navigate, useNavigate, useSearchParams } from "react-router";

import { ApiError } from "../../api/problem";
import { useAuth } from "../../auth/AuthProvider";
import { ErrorMessage, Field, NewPasswordField, Notice, SubmitButton } from "../../shared/forms";
import { useAction, usePageTitle } from "../../shared/hooks";
import { safeNext } from "../../shared/RequireAuth";
import { useRegister } from "./hooks";

export function SignUpPage() {
  usePageTitle("Create an account");
  const { status, signIn } = useAuth();
  const [params] = useSearchParams();
  const navigate = useNavigate();
  const action = useAction();
  const register = useRegister();
  const [fullName, setFullName] = useState("");
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const [mustVerify, setMustVerify] = useState(false);
  const next = safeNext(params.get("next"));

  if (status === "signed-in") return <Navigate to={next} replace />;

  async function submit(event: FormEvent) {
    event.preventDefault();
    const created = await action.run(() =>
      register.mutateAsync({ email, password, full_name: fullName.trim() || null }),
    );
    if (!created) return;
    try {
      await signIn(email, password);
      void navigate(next, { replace: true });
    } catch (error) {
      if (error instanceof ApiError && error.code === "email_not_verified") setMustVerify(true);
      else action.setError("Your account was created, but signing in failed. Try to sign in.");
    }
  }

  if (mustVerify) {
    return (
      <section>
        <h1>Check your mail</h1>
        <Notice>
          Your account was created. Follow the link we mailed to {email} to verify the address,
          then <Link to="/signin">sign in</Link>.
        </Notice>
      </section>
    );
  }

  return (
    <section aria-labelledby="signup-title">
      <h1 id="signup-title">Create an account</h1>
      <form onSubmit={submit}>
        <Field
          label="Full name (optional)"
          name="full_name"
          autoComplete="name"
          value={fullName}
          onValue={setFullName}
        />
        <Field
          label="Email"
          name="email"
          type="email"
          autoComplete="email"
          required
          value={email}
          onValue={setEmail}
        />
        <NewPasswordField
          label="Password"
          name="password"
          hint="At least 8 characters. A long phrase is best; common passwords are refused."
          value={password}
          onValue={setPassword}
        />
        <ErrorMessage error={action.error} />
        <SubmitButton busy={action.busy}>Create account</SubmitButton>
      </form>
      <p>
        Already have an account?{" "}
        <Link to={`/signin${params.get("next") ? `?next=${encodeURIComponent(next)}` : ""}`}>
          Sign in
        </Link>
      </p>
    </section>
  );
}
