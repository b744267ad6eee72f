import { keepPreviousData, useMutation, useQuery, useQueryClient } from "@tanstack/react-query";

import * as calls from "./api";

export const sessionKeys = {
  all: ["sessions"] as const,
  page: (cursor: string | undefined) => ["sessions", cursor ?? null] as const,
};

/** One page of sessions, newest first; the page shown stays while the next one loads. */
export function useSessions(cursor: string | undefined) {
  return useQuery({
    queryKey: sessionKeys.page(cursor),
    queryFn: () => calls.listSessions(cursor),
    placeholderData: keepPreviousData,
  });
}

export function useRevokeSession() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: calls.revokeSession,
    onSuccess: () => queryClient.invalidateQueries({ queryKey: sessionKeys.all }),
  });
}
