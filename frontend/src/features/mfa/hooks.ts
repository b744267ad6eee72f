import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";

import * as calls from "./api";

export const mfaOverviewKey = ["mfa", "overview"] as const;

export function useMfaOverview() {
  return useQuery({ queryKey: mfaOverviewKey, queryFn: calls.getOverview });
}

export function useEnrolTotp() {
  return useMutation({ mutationFn: (name?: string) => calls.enrolTotp(name) });
}

/** A confirmed factor joins the list; the recovery codes come back once, with the first. */
export function useConfirmTotp() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: ({ factorId, code }: { factorId: string; code: string }) => calls.confirmTotp(factorId, code),
    onSuccess: () => queryClient.invalidateQueries({ queryKey: mfaOverviewKey }),
  });
}

export function useRemoveFactor() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: calls.removeFactor,
    onSuccess: () => queryClient.invalidateQueries({ queryKey: mfaOverviewKey }),
  });
}
