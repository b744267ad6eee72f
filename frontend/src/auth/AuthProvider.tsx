import { createContext, type ReactNode, useCallback, useContext, useEffect, useState } from "react";

import { api, type Schemas, unwrap } from "../api/client";
import { describeError, errorFromResponse } from "../api/problem";
import { auth } from "./index";
import { type AuthStatus, ResponseError } from "./session";

type User = Schemas["UserRead"];

interface AuthContextValue {
  status: AuthStatus;
  /** True after this tab's own "Sign out": no page to come back to after signing in. */
  signedOutHere: boolean;
  user: User | null;
  /** Why the signed-in user's profile could not be loaded, if it could not. */
  userError: string | null;
  signIn(email: string, password: string): Promise<void>;
  signOut(): Promise<void>;
  signOutEverywhere(): Promise<void>;
  reloadUser(): Promise<void>;
}

const AuthContext = createContext<AuthContextValue | null>(null);

export function AuthProvider({ children }: { children: ReactNode }) {
  const [status, setStatus] = useState<AuthStatus>(auth.status);
  const [user, setUser] = useState<User | null>(null);
  const [signedOutHere, setSignedOutHere] = useState(false);
  const [userError, setUserError] = useState<string | null>(null);

  const reloadUser = useCallback(async () => {
    setUser(await unwrap(api.GET("/users/me")));
    setUserError(null);
  }, []);

  useEffect(() => {
    const unsubscribe = auth.subscribe(setStatus);
    setStatus(auth.status);
    if (auth.status === "unknown") void auth.restore();
    return unsubscribe;
  }, []);

  useEffect(() => {
    if (status === "signed-in") {
      setSignedOutHere(false);
      reloadUser().catch((error: unknown) => setUserError(describeError(error)));
    } else if (status === "signed-out") {
      // Private data goes with the session: nothing of the last user stays on screen.
      setUser(null);
    }
  }, [status, reloadUser]);

  const signIn = useCallback(async (email: string, password: string) => {
    try {
      await auth.signIn(email, password);
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

  return (
    <AuthContext.Provider value={{ status, signedOutHere, user, userError, signIn, signOut, signOutEverywhere, reloadUser }}>
      {children}
    </AuthContext.Provider>
  );
}

export function useAuth(): AuthContextValue {
  const value = useContext(AuthContext);
  if (value === null) throw new Error("useAuth needs an AuthProvider above it");
  return value;
}
