import { type FormEvent, useState } from "react";
import { Link, useNavigate } from "react-router";

import { ErrorMessage, Field, NewPasswordField, Notice, SubmitButton } from "../../shared/forms";
import { useAction, usePageTitle } from "../../shared/hooks";
import { useForgotPassword, useResetPassword, useTokenFromUrl } from "./hooks";

export function ForgotPasswordPage() {
  usePageTitle("Forgot password");
  const action = useAction();
  const forgotPassword = useForgotPassword();
  const [email, setEmail] = useState("");
  const [sent, setSent] = useState(false);

  async function submit(event: FormEvent) {
    event.preventDefault();
    if (await action.run(() => forgotPassword.mutateAsync(email))) {
      setSent(true);
    }
  }

  return (
    <section aria-labelledby="forgot-title">
      <h1 id="forgot-title">Forgot your password?</h1>
      {sent ? (
        // The same answer whether or not the account exists (no user enumeration).
        <Notice>
          If an account exists for {email}, we have sent it a link to choose a new password. The
          link works once, for one hour.
        </Notice>
      ) : (
        <form onSubmit={submit}>
          <Field
            label="Email"
            name="email"
            type="email"
            autoComplete="email"
            required
            value={email}
            onValue={setEmail}
          />
          <ErrorMessage error={action.error} />
          <SubmitButton busy={action.busy}>Send me a link</SubmitButton>
        </form>
      )}
      <p>
        <Link to="/signin">Back to sign in</Link>
      </p>
    </section>
  );
}

export function ResetPasswordPage() {
  usePageTitle("Choose a new password");
  const token = useTokenFromUrl();
  const navigate = useNavigate();
  const action = useAction();
  const resetPassword = useResetPassword();
  const [password, setPassword] = useState("");
  const [confirmation, setConfirmation] = useState("");

  async function submit(event: FormEvent) {
    event.preventDefault();
    if (password !== confirmation) {
      action.setError("The two passwords differ.");
      return;
    }
    const done = await action.run(() => resetPassword.mutateAsync({ token: token ?? "", password }));
    if (done) void navigate("/signin?reset=1", { replace: true });
  }

  if (!token) {
    return (
      <section>
        <h1>Choose a new password</h1>
        <p className="error" role="alert">
          This page needs the link from the password reset mail.{" "}
          <Link to="/forgot-password">Ask for a new link</Link>.
        </p>
      </section>
    );
  }

  return (
    <section aria-labelledby="reset-title">
      <h1 id="reset-title">Choose a new password</h1>
      <form onSubmit={submit}>
        <NewPasswordField
          label="New password"
          name="new_password"
          value={password}
          onValue={setPassword}
        />
        <Field
          label="Repeat the new password"
          name="confirm_password"
          type="password"
          autoComplete="new-password"
          required
          value={confirmation}
          onValue={setConfirmation}
        />
        <ErrorMessage error={action.error} />
        <SubmitButton busy={action.busy}>Set new password</SubmitButton>
      </form>
      <p className="muted">Every signed-in session of this account will be signed out.</p>
    </section>
  );
}
