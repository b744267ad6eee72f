import { useEffect, useRef } from "react";
import { Link, NavLink, Outlet, useMatch, useNavigate } from "react-router";

import { useAuth } from "../auth/AuthProvider";
import { useMyOrganizations } from "../features/organizations/hooks";

/** The frame of every signed-in page: navigation, organization switcher, sign-out. */
export function SignedInLayout() {
  const { user, signOut } = useAuth();
  const navigate = useNavigate();
  const orgId = useMatch("/orgs/:orgId/*")?.params.orgId;
  const organizations = useMyOrganizations();
  const { data: known, isFetching, refetch } = organizations;
  const reloadedFor = useRef<string | null>(null);

  useEffect(() => {
    // Joined elsewhere (another tab, a link): the switcher learns about it on first visit
    // (once per id). Creating or joining here refreshes the list itself.
    if (!orgId || !known || isFetching || reloadedFor.current === orgId) return;
    if (!known.some((organization) => organization.id === orgId)) {
      reloadedFor.current = orgId;
      void refetch();
    }
  }, [orgId, known, isFetching, refetch]);

  async function handleSignOut() {
    await signOut();
    void navigate("/signin", { replace: true });
  }

  return (
    <>
      <header className="topbar">
        <Link to="/orgs" className="brand">
          Tenantry
        </Link>
        <nav aria-label="Main">
          <NavLink to="/orgs" end>
            Organizations
          </NavLink>
          <NavLink to="/account">Profile</NavLink>
          <NavLink to="/account/sessions">Sessions</NavLink>
        </nav>
        {organizations.data && organizations.data.length > 0 && (
          <label className="switcher">
            <span className="visually-hidden">Current organization</span>
            <select
              value={orgId ?? ""}
              onChange={(event) => event.target.value && navigate(`/orgs/${event.target.value}/products`)}
            >
              <option value="">Switch organization…</option>
              {organizations.data.map((organization) => (
                <option key={organization.id} value={organization.id}>
                  {organization.name}
                </option>
              ))}
            </select>
          </label>
        )}
        <div className="who">
          <span className="muted" data-testid="current-user">
            {user?.email}
          </span>
          <button type="button" className="link" onClick={handleSignOut}>
            Sign out
          </button>
        </div>
      </header>
      <main id="main">
        <Outlet />
      </main>
    </>
  );
}

/** The frame of the pages for signed-out visitors (sign in, sign up, links from mail). */
export function PublicLayout() {
  return (
    <>
      <header className="topbar">
        <Link to="/" className="brand">
          Tenantry
        </Link>
      </header>
      <main id="main" className="narrow">
        <Outlet />
      </main>
    </>
  );
}
