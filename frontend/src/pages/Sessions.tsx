import { useState } from "react";
import { useNavigate } from "react-router";

import { api, unwrap } from "../api/client";
import { useAuth } from "../auth/AuthProvider";
import { ErrorMessage, formatDate, Loading } from "../components/forms";
import { useAction, usePageTitle, useResource } from "../components/hooks";

export function SessionsPage() {
  usePageTitle("Sessions");
  const { signOutEverywhere } = useAuth();
  const navigate = useNavigate();
  // Newest first, a page at a time; the last cursor of the stack is the page shown.
  const [cursors, setCursors] = useState<(string | undefined)[]>([undefined]);
  const cursor = cursors.at(-1);
  const sessions = useResource(
    () => unwrap(api.GET("/auth/sessions", { params: { query: { cursor, limit: 50 } } })),
    [cursor],
  );
  const action = useAction();

  async function revoke(id: string) {
    if (
      await action.run(() =>
        unwrap(api.DELETE("/auth/sessions/{session_id}", { params: { path: { session_id: id } } })),
      )
    ) {
      sessions.reload();
    }
  }

  async function everywhere() {
    if (await action.run(signOutEverywhere)) navigate("/signin", { replace: true });
  }

  return (
    <>
      <h1>Your sessions</h1>
      <p className="muted">Every browser or app signed in to your account.</p>
      <ErrorMessage error={sessions.error ?? action.error} />
      {sessions.loading && !sessions.data && <Loading />}
      {sessions.data && (
        <table>
          <thead>
            <tr>
              <th scope="col">Device</th>
              <th scope="col">IP address</th>
              <th scope="col">Signed in</th>
              <th scope="col">Last active</th>
              <th scope="col">
                <span className="visually-hidden">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {sessions.data.items.map((session) => (
              <tr key={session.id}>
                <td>
                  {describeAgent(session.user_agent)}
                  {session.current && <span className="badge">this browser</span>}
                </td>
                <td>{session.ip ?? "—"}</td>
                <td>{formatDate(session.created_at)}</td>
                <td>{formatDate(session.last_used_at)}</td>
                <td>
                  {!session.current && (
                    <button
                      type="button"
                      className="secondary"
                      onClick={() => revoke(session.id)}
                      disabled={action.busy}
                    >
                      Sign out this session
                    </button>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {(cursors.length > 1 || sessions.data?.next_cursor) && (
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
            disabled={!sessions.data?.next_cursor}
            onClick={() => setCursors([...cursors, sessions.data?.next_cursor ?? undefined])}
          >
            Older
          </button>
        </nav>
      )}
      <section className="card danger" aria-labelledby="everywhere-title">
        <h2 id="everywhere-title">Sign out everywhere</h2>
        <p>Ends every session, this one included. Use it when a device is lost.</p>
        <button type="button" className="danger" onClick={everywhere} disabled={action.busy}>
          Sign out everywhere
        </button>
      </section>
    </>
  );
}

function describeAgent(agent: string | null): string {
  if (!agent) return "Unknown device";
  const browser = /(Firefox|Edg|Chrome|Chromium|Safari)\/[\d.]+/.exec(agent)?.[1];
  const system = /(Windows|Mac OS X|Android|iPhone|Linux)/.exec(agent)?.[1];
  if (browser || system) return [browser, system].filter(Boolean).join(" on ");
  return agent.slice(0, 60);
}
