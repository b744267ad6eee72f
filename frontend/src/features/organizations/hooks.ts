import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";

import type { Schemas } from "../../api/client";
import * as calls from "./api";

/** Query keys of this feature: everything of one organization sits under its id. */
export const organizationKeys = {
  mine: ["organizations", "mine"] as const,
  one: (orgId: string) => ["organizations", orgId] as const,
  members: (orgId: string) => ["organizations", orgId, "members"] as const,
  roles: (orgId: string) => ["organizations", orgId, "roles"] as const,
  invitations: (orgId: string) => ["organizations", orgId, "invitations"] as const,
};

/** The signed-in user's organizations, shared by the switcher and the organizations page. */
export function useMyOrganizations() {
  return useQuery({ queryKey: organizationKeys.mine, queryFn: calls.listMyOrganizations });
}

/** One organization with the caller's role and permissions in it. */
export function useOrganizationQuery(orgId: string) {
  return useQuery({ queryKey: organizationKeys.one(orgId), queryFn: () => calls.getOrganization(orgId) });
}

export function useCreateOrganization() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: calls.createOrganization,
    onSuccess: () => queryClient.invalidateQueries({ queryKey: organizationKeys.mine }),
  });
}

export function useAcceptInvitation() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: calls.acceptInvitation,
    onSuccess: () => queryClient.invalidateQueries({ queryKey: organizationKeys.mine }),
  });
}

export function useMembers(orgId: string) {
  return useQuery({ queryKey: organizationKeys.members(orgId), queryFn: () => calls.listMembers(orgId) });
}

export function useRoles(orgId: string) {
  return useQuery({ queryKey: organizationKeys.roles(orgId), queryFn: () => calls.listRoles(orgId) });
}

/** Only for those who may manage members: the server refuses the others (and audits it). */
export function useInvitations(orgId: string, enabled: boolean) {
  return useQuery({
    queryKey: organizationKeys.invitations(orgId),
    queryFn: () => calls.listInvitations(orgId),
    enabled,
  });
}

export function useChangeMemberRole(orgId: string) {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: ({ userId, role }: { userId: string; role: string }) => calls.changeMemberRole(orgId, userId, role),
    onSuccess: () => queryClient.invalidateQueries({ queryKey: organizationKeys.members(orgId) }),
  });
}

export function useRemoveMember(orgId: string) {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: (userId: string) => calls.removeMember(orgId, userId),
    onSuccess: () => queryClient.invalidateQueries({ queryKey: organizationKeys.members(orgId) }),
  });
}

export function useInvite(orgId: string) {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: (body: Schemas["InvitationCreate"]) => calls.invite(orgId, body),
    onSuccess: () => queryClient.invalidateQueries({ queryKey: organizationKeys.invitations(orgId) }),
  });
}

export function useRevokeInvitation(orgId: string) {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: (invitationId: string) => calls.revokeInvitation(orgId, invitationId),
    onSuccess: () => queryClient.invalidateQueries({ queryKey: organizationKeys.invitations(orgId) }),
  });
}
