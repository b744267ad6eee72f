import { useMutation, useQueryClient } from "@tanstack/react-query";
import { useEffect, useState } from "react";
import { useNavigate } from "react-router";

import type { Schemas } from "../../api/client";
import { currentUserQuery } from "../../auth/currentUser";
import * as calls from "./api";

export function useRegister() {
  return useMutation({ mutationFn: calls.register });
}

export function useForgotPassword() {
  return useMutation({ mutationFn: calls.forgotPassword });
}

export function useResetPassword() {
  return useMutation({
    mutationFn: ({ token, password }: { token: string; password: string }) => calls.resetPassword(token, password),
  });
}

export function useChangePassword() {
  return useMutation({ mutationFn: calls.changePassword });
}

export function useRequestVerification() {
  return useMutation({ mutationFn: calls.requestVerification });
}

/** Verifies the address; the signed-in user, if any, is read again to show it verified. */
export function useVerifyEmail() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: calls.verifyEmail,
    onSuccess: () => {
      void queryClient.invalidateQueries({ queryKey: currentUserQuery.queryKey });
    },
  });
}

/** PATCH /users/me answers with the user as saved: that becomes the signed-in user at once. */
export function useUpdateProfile() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: (body: Schemas["UserUpdateSelf"]) => calls.updateProfile(body),
    onSuccess: (user) => queryClient.setQueryData(currentUserQuery.queryKey, user),
  });
}

/**
 * Reads `?token=` once, then removes it from the address bar and the history entry, so it
 * is not left in the browser's history, a screenshot or a bookmark.
 */
export function useTokenFromUrl(): string | null {
  const [token] = useState(() => new URLSearchParams(window.location.search).get("token"));
  const navigate = useNavigate();
  useEffect(() => {
    if (new URLSearchParams(window.location.search).has("token")) {
      void navigate(window.location.pathname, { replace: true });
    }
  }, [navigate]);
  return token;
}
