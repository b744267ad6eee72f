import { Navigate, Outlet, useLocation } from "react-router";

import { useAuth } from "../auth/AuthProvider";
import { ErrorMessage, Loading } from "./forms";

/** Guards the private pages: while the session restores, wait; without one, sign in first. */
export function RequireAuth() {
  const { status, user, userError, signedOutHere, reloadUser } = useAuth();
  const location = useLocation();
  if (status === "signed-out") {
    if (signedOutHere) return <Navigate to="/signin" replace />;
    // The session ended elsewhere or expired, or this is a deep link: come back here after.
    const next = location.pathname + location.search;
    return <Navigate to={`/signin?next=${encodeURIComponent(next)}`} replace />;
  }
  if (status === "signed-in" && user === null && userError) {
    return (
      <main id="main" className="narrow">
        <ErrorMessage error={userError} />
        <button type="button" onClick={() => void reloadUser().catch(() => undefined)}>
          Try again
        </button>
      </main>
    );
  }
  if (status === "unknown" || user === null) return <Loading what="Restoring your session" />;
  return <Outlet />;
}

/** Only a local path may follow sign-in: `//evil.example` or `https://…` would leave the app. */
export function safeNext(next: string | null, fallback = "/orgs"): string {
  if (!next || !next.startsWith("/") || next.startsWith("//") || next.startsWith("/\\")) {
    return fallback;
  }
  return next;
}
