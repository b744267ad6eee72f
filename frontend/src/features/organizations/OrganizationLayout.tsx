import { createContext, useContext } from "react";
import { NavLink, Outlet, useParams } from "react-router";

import { ErrorMessage, Loading } from "../../shared/forms";
import { errorText } from "../../shared/hooks";
import type { Organization, Permission } from "./api";
import { useOrganizationQuery } from "./hooks";

interface OrganizationContextValue {
  organization: Organization;
  can: (permission: Permission) => boolean;
}

const OrganizationContext = createContext<OrganizationContextValue | null>(null);

export function useOrganization(): OrganizationContextValue {
  const value = useContext(OrganizationContext);
  if (value === null) throw new Error("useOrganization needs the OrganizationLayout");
  return value;
}

/**
 * The pages of one organization. The caller's permissions come from the server; the UI
 * hides what they do not allow, and the API refuses it anyway.
 */
export function OrganizationLayout() {
  const { orgId = "" } = useParams();
  const query = useOrganizationQuery(orgId);
  const organization = query.data;

  if (query.error) return <ErrorMessage error={errorText(query.error)} />;
  if (!organization) return <Loading />;

  const permissions = new Set(organization.permissions);
  const can = (permission: Permission) => permissions.has(permission);
  return (
    <OrganizationContext.Provider value={{ organization, can }}>
      <div className="org-header">
        <h1>{organization.name}</h1>
        <span className="badge" data-testid="my-role">
          {organization.role ?? "platform operator"}
        </span>
      </div>
      <nav aria-label="Organization" className="tabs">
        {can("products:read") && <NavLink to="products">Products</NavLink>}
        {can("members:read") && <NavLink to="members">Members</NavLink>}
        {can("audit:read") && <NavLink to="audit">Audit log</NavLink>}
      </nav>
      <Outlet />
    </OrganizationContext.Provider>
  );
}
