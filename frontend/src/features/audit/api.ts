/** An organization's audit log (needs `audit:read`). */
import { api, unwrap } from "../../api/client";

export interface AuditFilter {
  /** An exact action, or a prefix ending in `*`; empty for every action. */
  action: string;
  cursor: string | undefined;
}

export function listAuditEvents(org_id: string, filter: AuditFilter) {
  return unwrap(
    api.GET("/organizations/{org_id}/audit-events", {
      params: { path: { org_id }, query: { action: filter.action || undefined, cursor: filter.cursor, limit: 50 } },
    }),
  );
}
