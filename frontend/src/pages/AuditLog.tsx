import { type FormEvent, useState } from "react";

import { errorFromResponse } from "../api/problem";
import { auth } from "../auth";
import { ErrorMessage, Field, formatDate, Loading } from "../components/forms";
import { usePageTitle, useResource } from "../components/hooks";
import { useOrganization } from "./OrganizationLayout";

/**
 * DESIGN.md §5 "Audit". Typed by hand until GET /organizations/{org_id}/audit-events is in
 * the service's OpenAPI document; then this moves to the generated client like the rest.
 */
interface AuditEvent {
  id: string;
  occurred_at: string;
  action: string;
  outcome: "success" | "failure";
  actor_user_id: string | null;
  target_type: string | null;
  target_id: string | null;
  ip: string | null;
  details: Record<string, unknown> | null;
}

interface AuditPage {
  items: AuditEvent[];
  next_cursor: string | null;
}

async function loadEvents(orgId: string, action: string, cursor: string | undefined): Promise<AuditPage> {
  const query = new URLSearchParams({ limit: "50" });
  if (action) query.set("action", action);
  if (cursor) query.set("cursor", cursor);
  const response = await auth.fetch(`/organizations/${encodeURIComponent(orgId)}/audit-events?${query}`);
  if (!response.ok) throw await errorFromResponse(response);
  return (await response.json()) as AuditPage;
}

export function AuditLogPage() {
  usePageTitle("Audit log");
  const { organization, can } = useOrganization();
  const [action, setAction] = useState("");
  const [filter, setFilter] = useState("");
  const [cursors, setCursors] = useState<(string | undefined)[]>([undefined]);
  const cursor = cursors.at(-1);
  const events = useResource(() => loadEvents(organization.id, filter, cursor), [organization.id, filter, cursor]);

  if (!can("audit:read")) {
    return (
      <p className="error" role="alert">
        Your role cannot read the audit log.
      </p>
    );
  }

  function submit(event: FormEvent) {
    event.preventDefault();
    setCursors([undefined]);
    setFilter(action.trim());
  }

  return (
    <>
      <h2>Audit log</h2>
      <form role="search" onSubmit={submit} className="inline">
        <Field
          label="Action"
          name="action"
          placeholder="product.updated"
          value={action}
          onChange={(event) => setAction(event.target.value)}
        />
        <button type="submit">Filter</button>
      </form>
      <ErrorMessage error={events.error} />
      {events.loading && <Loading what="Loading events" />}
      {!events.loading && events.data?.items.length === 0 && <p className="empty">No events.</p>}
      {events.data && events.data.items.length > 0 && (
        <table>
          <thead>
            <tr>
              <th scope="col">When</th>
              <th scope="col">Action</th>
              <th scope="col">Outcome</th>
              <th scope="col">Actor</th>
              <th scope="col">Target</th>
              <th scope="col">IP</th>
            </tr>
          </thead>
          <tbody>
            {events.data.items.map((event) => (
              <tr key={event.id}>
                <td>{formatDate(event.occurred_at)}</td>
                <td>
                  <code>{event.action}</code>
                </td>
                <td>{event.outcome}</td>
                <td className="small">{event.actor_user_id ?? "—"}</td>
                <td className="small">
                  {event.target_type ? `${event.target_type} ${event.target_id ?? ""}` : "—"}
                </td>
                <td>{event.ip ?? "—"}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <nav aria-label="Pages" className="pager">
        <button
          type="button"
          className="secondary"
          disabled={cursors.length < 2}
          onClick={() => setCursors(cursors.slice(0, -1))}
        >
          Newer
        </button>
        <button
          type="button"
          className="secondary"
          disabled={!events.data?.next_cursor}
          onClick={() => setCursors([...cursors, events.data?.next_cursor ?? undefined])}
        >
          Older
        </button>
      </nav>
    </>
  );
}
