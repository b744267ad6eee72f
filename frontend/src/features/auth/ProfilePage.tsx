import { type FormEvent, useEffect, useState } from "react";

import { useAuth } from "../../auth/AuthProvider";
import {
  ErrorMessage,
  Field,
  NewPasswordField,
  formatDate,
  Notice,
  SubmitButton,
} from "../../shared/forms";
import { useAction, usePageTitle } from "../../shared/hooks";
import { TwoFactorCard } from "../mfa/TwoFactorCard";
import { useChangePassword, useRequestVerification, useUpdateProfile } from "./hooks";

export function ProfilePage() {
  usePageTitle("Profile");
  const { user, reloadUser } = useAuth();
  useEffect(() => {
    // Fresh on every visit: the address may have been verified in another tab.
    reloadUser().catch(() => undefined);
  }, [reloadUser]);
  if (!user) return null;
  return (
    <>
      <h1>Profile</h1>
      <dl className="facts">
        <dt>Email</dt>
        <dd>{user.email}</dd>
        <dt>Email verified</dt>
        <dd>{user.email_verified_at ? formatDate(user.email_verified_at) : "Not yet"}</dd>
        <dt>Member since</dt>
        <dd>{formatDate(user.created_at)}</dd>
      </dl>
      {!user.email_verified_at && <VerifyEmailRequest />}
      <NameForm initial={user.full_name ?? ""} />
      <ChangePasswordForm />
      <TwoFactorCard />
    </>
  );
}

function VerifyEmailRequest() {
  const action = useAction();
  const requestVerification = useRequestVerification();
  const [sent, setSent] = useState(false);
  async function send() {
    if (await action.run(() => requestVerification.mutateAsync())) setSent(true);
  }
  return (
    <section className="card" aria-labelledby="verify-title">
      <h2 id="verify-title">Verify your email</h2>
      {sent ? (
        <Notice>We sent you a verification link. It is valid for 24 hours.</Notice>
      ) : (
        <button type="button" onClick={send} disabled={action.busy}>
          Send verification mail
        </button>
      )}
      <ErrorMessage error={action.error} />
    </section>
  );
}

function NameForm({ initial }: { initial: string }) {
  const action = useAction();
  const updateProfile = useUpdateProfile();
  const [fullName, setFullName] = useState(initial);
  const [saved, setSaved] = useState(false);
  // The saved name can change under the form (a save, or the profile read again): show the
  // new one. State follows a changed prop during render, as React's docs do, not in an effect.
  const [shown, setShown] = useState(initial);
  if (shown !== initial) {
    setShown(initial);
    setFullName(initial);
  }

  async function submit(event: FormEvent) {
    event.preventDefault();
    setSaved(false);
    const done = await action.run(() => updateProfile.mutateAsync({ full_name: fullName.trim() || null }));
    setSaved(done);
  }

  return (
    <section className="card" aria-labelledby="name-title">
      <h2 id="name-title">Your name</h2>
      <form onSubmit={submit}>
        <Field
          label="Full name"
          name="full_name"
          autoComplete="name"
          value={fullName}
          onValue={setFullName}
        />
        <ErrorMessage error={action.error} />
        {saved && <Notice>Saved.</Notice>}
        <SubmitButton busy={action.busy}>Save</SubmitButton>
      </form>
    </section>
  );
}

function ChangePasswordForm() {
  const action = useAction();
  const changePassword = useChangePassword();
  const [current, setCurrent] = useState("");
  const [next, setNext] = useState("");
  const [changed, setChanged] = useState(false);

  async function submit(event: FormEvent) {
    event.preventDefault();
    setChanged(false);
    const done = await action.run(() =>
      changePassword.mutateAsync({ current_password: current, new_password: next }),
    );
    if (done) {
      setCurrent("");
      setNext("");
      setChanged(true);
    }
  }

  return (
    <section className="card" aria-labelledby="password-title">
      <h2 id="password-title">Change password</h2>
      <form onSubmit={submit}>
        <Field
          label="Current password"
          name="current_password"
          type="password"
          autoComplete="current-password"
          required
          value={current}
          onValue={setCurrent}
        />
        <NewPasswordField
          label="New password"
          name="new_password"
          value={next}
          onValue={setNext}
        />
        <ErrorMessage error={action.error} />
        {changed && <Notice>Password changed. Your other sessions were signed out.</Notice>}
        <SubmitButton busy={action.busy}>Change password</SubmitButton>
      </form>
    </section>
  );
}
