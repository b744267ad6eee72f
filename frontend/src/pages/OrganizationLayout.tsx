import { createContext, useContext } from "react";
import { NavLink, Outlet, useParams } from "react-router";

import { api, type Schemas, unwrap } from "../api/client";
import { ErrorMessage, Loading } from "../components/forms";
import { useResource } from "../components/hooks";

type Organization = Schemas["MyOrganization"];
export type Permission = Schemas["Permission"];

interface OrganizationContextValue {
  organization: Organization;
  can(permission: Permission): boolean;
  reload(): void;
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
  const resource = useResource(
    () => unwrap(api.GET("/organizations/{org_id}", { params: { path: { org_id: orgId } } })),
    [orgId],
  );
  const organization = resource.data;

  if (resource.error) return <ErrorMessage error={resource.error} />;
  if (!organization || organization.id !== orgId) return <Loading />;

  const permissions = new Set(organization.permissions);
  const can = (permission: Permission) => permissions.has(permission);
  return (
    <OrganizationContext.Provider value={{ organization, can, reload: resource.reload }}>
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
