import { type FormEvent, useState } from "react";

import { ErrorMessage, Field, formatDate, Loading } from "../../shared/forms";
import { errorText, usePageTitle } from "../../shared/hooks";
import { Pager, useCursorPages } from "../../shared/Pager";
import { useOrganization } from "../organizations/OrganizationLayout";
import { useAuditEvents } from "./hooks";

export function AuditLogPage() {
  usePageTitle("Audit log");
  const { organization, can } = useOrganization();
  const [action, setAction] = useState("");
  const [filter, setFilter] = useState("");
  const pages = useCursorPages();
  const allowed = can("audit:read");
  const events = useAuditEvents(organization.id, { action: filter, cursor: pages.cursor }, allowed);

  if (!allowed) {
    return (
      <p className="error" role="alert">
        Your role cannot read the audit log.
      </p>
    );
  }

  function submit(event: FormEvent) {
    event.preventDefault();
    pages.reset();
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
          onValue={setAction}
        />
        <button type="submit">Filter</button>
      </form>
      <ErrorMessage error={errorText(events.error)} />
      {events.isFetching && <Loading what="Loading events" />}
      {!events.isFetching && events.data?.items.length === 0 && <p className="empty">No events.</p>}
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
      <Pager onPrevious={pages.previous} onNext={pages.next(events.data?.next_cursor)} />
    </>
  );
}
