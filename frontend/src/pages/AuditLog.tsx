import { type FormEvent, useState } from "react";

import { api, unwrap } from "../api/client";
import { ErrorMessage, Field, formatDate, Loading } from "../components/forms";
import { usePageTitle, useResource } from "../components/hooks";
import { useOrganization } from "./OrganizationLayout";

export function AuditLogPage() {
  usePageTitle("Audit log");
  const { organization, can } = useOrganization();
  const [action, setAction] = useState("");
  const [filter, setFilter] = useState("");
  const [cursors, setCursors] = useState<(string | undefined)[]>([undefined]);
  const cursor = cursors.at(-1);
  const allowed = can("audit:read");
  const events = useResource(async () => {
    // Without audit:read the server would refuse (and audit the refusal): do not ask.
    if (!allowed) return { items: [], next_cursor: null };
    return unwrap(
      api.GET("/organizations/{org_id}/audit-events", {
        params: {
          path: { org_id: organization.id },
          query: { action: filter || undefined, cursor, limit: 50 },
        },
      }),
    );
  }, [organization.id, filter, cursor, allowed]);

  if (!allowed) {
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
          placeholder="product.* or auth.login.failed"
          hint="An exact action, or a prefix ending in *."
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
