import { useEffect, useRef } from "react";
import { Link } from "react-router";

import { describeError } from "../../api/problem";
import { useAuth } from "../../auth/AuthProvider";
import { Loading, Notice } from "../../shared/forms";
import { usePageTitle } from "../../shared/hooks";
import { useTokenFromUrl, useVerifyEmail } from "./hooks";

export function VerifyEmailPage() {
  usePageTitle("Verify email");
  const token = useTokenFromUrl();
  const { status } = useAuth();
  const { mutate: verify, isSuccess, error } = useVerifyEmail();
  const started = useRef(false);

  useEffect(() => {
    // The token is single use: never send it twice (React runs effects twice in development).
    if (started.current || !token) return;
    started.current = true;
    verify(token);
  }, [token, verify]);

  const outcome = isSuccess
    ? { ok: true, message: "Your email address is verified." }
    : error
      ? { ok: false, message: describeError(error) }
      : null;

  return (
    <section>
      <h1>Verify your email</h1>
      {!token && (
        <p className="error" role="alert">
          This page needs the link from the verification mail.
        </p>
      )}
      {token && !outcome && <Loading what="Verifying" />}
      {outcome?.ok && <Notice>{outcome.message}</Notice>}
      {outcome && !outcome.ok && (
        <p className="error" role="alert">
          {outcome.message}
        </p>
      )}
      <p>
        {status === "signed-in" ? (
          <Link to="/account">Go to your profile</Link>
        ) : (
          <Link to="/signin">Sign in</Link>
        )}
      </p>
    </section>
  );
}
