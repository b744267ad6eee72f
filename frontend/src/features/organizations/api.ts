/** Organizations, their members, roles and invitations: the calls of this feature. */
import { api, type Schemas, unwrap } from "../../api/client";

export type Organization = Schemas["MyOrganization"];
export type Permission = Schemas["Permission"];
export type Role = Schemas["RoleRead"];
export type Member = Schemas["MemberRead"];
export type Invitation = Schemas["InvitationRead"];

/** Every organization of the signed-in user, all pages of them (the switcher lists them all). */
export async function listMyOrganizations(): Promise<Organization[]> {
  const found: Organization[] = [];
  let cursor: string | undefined;
  do {
    const page = await unwrap(api.GET("/organizations", { params: { query: { limit: 200, cursor } } }));
    found.push(...page.items);
    cursor = page.next_cursor ?? undefined;
  } while (cursor);
  return found;
}

export function getOrganization(org_id: string) {
  return unwrap(api.GET("/organizations/{org_id}", { params: { path: { org_id } } }));
}

export function createOrganization(body: Schemas["OrganizationCreate"]) {
  return unwrap(api.POST("/organizations", { body }));
}

export function listMembers(org_id: string) {
  return unwrap(api.GET("/organizations/{org_id}/members", { params: { path: { org_id }, query: { limit: 200 } } }));
}

export function changeMemberRole(org_id: string, user_id: string, role: string) {
  return unwrap(
    api.PATCH("/organizations/{org_id}/members/{user_id}", { params: { path: { org_id, user_id } }, body: { role } }),
  );
}

export function removeMember(org_id: string, user_id: string) {
  return unwrap(api.DELETE("/organizations/{org_id}/members/{user_id}", { params: { path: { org_id, user_id } } }));
}

export function listRoles(org_id: string) {
  return unwrap(api.GET("/organizations/{org_id}/roles", { params: { path: { org_id } } }));
}

export function listInvitations(org_id: string) {
  return unwrap(
    api.GET("/organizations/{org_id}/invitations", { params: { path: { org_id }, query: { limit: 200 } } }),
  );
}

export function invite(org_id: string, body: Schemas["InvitationCreate"]) {
  return unwrap(api.POST("/organizations/{org_id}/invitations", { params: { path: { org_id } }, body }));
}

export function revokeInvitation(org_id: string, invitation_id: string) {
  return unwrap(
    api.DELETE("/organizations/{org_id}/invitations/{invitation_id}", {
      params: { path: { org_id, invitation_id } },
    }),
  );
}

export function acceptInvitation(token: string) {
  return unwrap(api.POST("/invitations/accept", { body: { token } }));
}
