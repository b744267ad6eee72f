import { useQuery, useQueryClient } from "@tanstack/react-query";
import { createContext, type ReactNode, useCallback, useContext, useEffect, useState, useSyncExternalStore } from "react";

import type { Schemas } from "../api/client";
import { describeError, errorFromResponse } from "../api/problem";
import { currentUserQuery } from "./currentUser";
import { auth } from "./index";
import { type MfaChallenge, mfaChallengeFrom } from "./mfa";
import { type AuthStatus, type MfaVerifyBody, type ReauthenticateBody, ResponseError } from "./session";

type User = Schemas["UserRead"];

interface AuthContextValue {
  status: AuthStatus;
  /** True after this tab's own "Sign out": no page to come back to after signing in. */
  signedOutHere: boolean;
  user: User | null;
  /** Why the signed-in user's profile could not be loaded, if it could not. */
  userError: string | null;
  /** Signs in, or answers the second-factor challenge to finish with `verifyMfa`. */
  signIn: (email: string, password: string) => Promise<MfaChallenge | null>;
  verifyMfa: (body: MfaVerifyBody) => Promise<void>;
  /** Step-up before a sensitive action: the session's access token is renewed. */
  reauthenticate: (body: ReauthenticateBody) => Promise<void>;
  signOut: () => Promise<void>;
  signOutEverywhere: () => Promise<void>;
  reloadUser: () => Promise<void>;
}

const AuthContext = createContext<AuthContextValue | null>(null);

const subscribeToStatus = (listener: () => void) => auth.subscribe(listener);
const currentStatus = () => auth.status;

/**
 * React's view of the tab's session (`auth`, src/auth/session.ts), which keeps the tokens.
 * Every query and mutation lives in the QueryClient above this provider; when the session
 * ends, that cache is emptied, so nothing of the last user stays in memory or on screen.
 */
export function AuthProvider({ children }: { children: ReactNode }) {
  const queryClient = useQueryClient();
  const status = useSyncExternalStore(subscribeToStatus, currentStatus);
  const [signedOutHere, setSignedOutHere] = useState(false);
  const me = useQuery({ ...currentUserQuery, enabled: status === "signed-in" });

  useEffect(
    () =>
      auth.subscribe((next) => {
        if (next === "signed-in") setSignedOutHere(false);
        // Private data goes with the session: the next user starts from an empty cache.
        else if (next === "signed-out") queryClient.clear();
      }),
    [queryClient],
  );

  useEffect(() => {
    if (auth.status === "unknown") void auth.restore();
  }, []);

  const reloadUser = useCallback(async () => {
    await queryClient.fetchQuery(currentUserQuery);
  }, [queryClient]);

  const signIn = useCallback(async (email: string, password: string) => {
    try {
      await auth.signIn(email, password);
      return null;
    } catch (error) {
      if (!(error instanceof ResponseError)) throw error;
      const body: unknown = await error.response.clone().json().catch(() => null);
      const challenge = mfaChallengeFrom(error.response.status, body);
      if (challenge) return challenge;
      throw await errorFromResponse(error.response);
    }
  }, []);

  const verifyMfa = useCallback(async (body: MfaVerifyBody) => {
    try {
      await auth.verifyMfa(body);
    } catch (error) {
      throw error instanceof ResponseError ? await errorFromResponse(error.response) : error;
    }
  }, []);

  const reauthenticate = useCallback(async (body: ReauthenticateBody) => {
    try {
      await auth.reauthenticate(body);
    } catch (error) {
      throw error instanceof ResponseError ? await errorFromResponse(error.response) : error;
    }
  }, []);

  const signOut = useCallback(async () => {
    setSignedOutHere(true);
    await auth.signOut();
  }, []);

  const signOutEverywhere = useCallback(async () => {
    setSignedOutHere(true);
    try {
      await auth.signOutEverywhere();
    } catch (error) {
      setSignedOutHere(false);
      throw error instanceof ResponseError ? await errorFromResponse(error.response) : error;
    }
  }, []);

  const signedIn = status === "signed-in";
  const user = signedIn ? (me.data ?? null) : null;
  const userError = signedIn && me.error ? describeError(me.error) : null;
  return (
    <AuthContext.Provider value={{ status, signedOutHere, user, userError, signIn, verifyMfa, reauthenticate, signOut, signOutEverywhere, reloadUser }}>
      {children}
    </AuthContext.Provider>
  );
}

export function useAuth(): AuthContextValue {
  const value = useContext(AuthContext);
  if (value === null) throw new Error("useAuth needs an AuthProvider above it");
  return value;
}
