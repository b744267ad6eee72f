import { createContext, useContext, useEffect, useRef } from "react";
import { Link, NavLink, Outlet, useMatch, useNavigate } from "react-router";

import { api, type Schemas, unwrap } from "../api/client";
import { useAuth } from "../auth/AuthProvider";
import { type Resource, useResource } from "./hooks";

type Organization = Schemas["MyOrganization"];

const OrganizationsContext = createContext<Resource<Organization[]> | null>(null);

/** The signed-in user's organizations, shared by the switcher and the organizations page. */
export function useOrganizations(): Resource<Organization[]> {
  const value = useContext(OrganizationsContext);
  if (value === null) throw new Error("useOrganizations needs the signed-in Layout");
  return value;
}

async function allOrganizations(): Promise<Organization[]> {
  const found: Organization[] = [];
  let cursor: string | undefined;
  do {
    const page = await unwrap(
      api.GET("/organizations", { params: { query: { limit: 200, cursor } } }),
    );
    found.push(...page.items);
    cursor = page.next_cursor ?? undefined;
  } while (cursor);
  return found;
}

/** The frame of every signed-in page: navigation, organization switcher, sign-out. */
export function SignedInLayout() {
  const { user, signOut } = useAuth();
  const navigate = useNavigate();
  const orgId = useMatch("/orgs/:orgId/*")?.params.orgId;
  const organizations = useResource(allOrganizations, [user?.id]);
  const { data: known, loading, reload } = organizations;
  const reloadedFor = useRef<string | null>(null);

  useEffect(() => {
    // Just created or joined: the switcher learns about it on first visit (once per id).
    if (!orgId || !known || loading || reloadedFor.current === orgId) return;
    if (!known.some((organization) => organization.id === orgId)) {
      reloadedFor.current = orgId;
      reload();
    }
  }, [orgId, known, loading, reload]);

  async function handleSignOut() {
    await signOut();
    navigate("/signin", { replace: true });
  }

  return (
    <OrganizationsContext.Provider value={organizations}>
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
    </OrganizationsContext.Provider>
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
