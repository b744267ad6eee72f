import { keepPreviousData, useQuery } from "@tanstack/react-query";

import { type AuditFilter, listAuditEvents } from "./api";

export const auditKeys = {
  list: (orgId: string, filter: AuditFilter) => ["audit", orgId, filter] as const,
};

/** Without `audit:read` the server would refuse (and audit the refusal): `enabled` is false then. */
export function useAuditEvents(orgId: string, filter: AuditFilter, enabled: boolean) {
  return useQuery({
    queryKey: auditKeys.list(orgId, filter),
    queryFn: () => listAuditEvents(orgId, filter),
    enabled,
    placeholderData: keepPreviousData,
  });
}
