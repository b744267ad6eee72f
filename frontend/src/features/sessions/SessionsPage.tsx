import { useNavigate } from "react-router";

import { useAuth } from "../../auth/AuthProvider";
import { ErrorMessage, formatDate, Loading } from "../../shared/forms";
import { errorText, useAction, usePageTitle } from "../../shared/hooks";
import { Pager, useCursorPages } from "../../shared/Pager";
import { describeAgent } from "./agent";
import { useRevokeSession, useSessions } from "./hooks";

export function SessionsPage() {
  usePageTitle("Sessions");
  const { signOutEverywhere } = useAuth();
  const navigate = useNavigate();
  // Newest first, a page at a time.
  const pages = useCursorPages();
  const sessions = useSessions(pages.cursor);
  const revokeSession = useRevokeSession();
  const action = useAction();

  async function revoke(id: string) {
    await action.run(() => revokeSession.mutateAsync(id));
  }

  async function everywhere() {
    if (await action.run(signOutEverywhere)) void navigate("/signin", { replace: true });
  }

  return (
    <>
      <h1>Your sessions</h1>
      <p className="muted">Every browser or app signed in to your account.</p>
      <ErrorMessage error={errorText(sessions.error) ?? action.error} />
      {sessions.isPending && <Loading />}
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
      {(pages.previous || sessions.data?.next_cursor) && (
        <Pager onPrevious={pages.previous} onNext={pages.next(sessions.data?.next_cursor)} />
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

