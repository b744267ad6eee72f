import { useEffect, useRef, useState } from "react";
import { Link } from "react-router";

import { api, unwrap } from "../api/client";
import { describeError } from "../api/problem";
import { useAuth } from "../auth/AuthProvider";
import { Loading, Notice } from "../components/forms";
import { usePageTitle } from "../components/hooks";
import { useTokenFromUrl } from "./PasswordReset";

export function VerifyEmailPage() {
  usePageTitle("Verify email");
  const token = useTokenFromUrl();
  const { status, reloadUser } = useAuth();
  const [outcome, setOutcome] = useState<{ ok: boolean; message: string } | null>(null);
  const started = useRef(false);

  useEffect(() => {
    // The token is single use: never send it twice (React runs effects twice in development).
    if (started.current || !token) return;
    started.current = true;
    unwrap(api.POST("/auth/verify", { body: { token } })).then(
      () => setOutcome({ ok: true, message: "Your email address is verified." }),
      (error: unknown) => setOutcome({ ok: false, message: describeError(error) }),
    );
  }, [token]);

  useEffect(() => {
    if (outcome?.ok && status === "signed-in") reloadUser().catch(() => undefined);
  }, [outcome, status, reloadUser]);

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
