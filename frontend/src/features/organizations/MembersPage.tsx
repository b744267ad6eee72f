import { type FormEvent, useState } from "react";

import { useAuth } from "../../auth/AuthProvider";
import { ErrorMessage, Field, formatDate, Loading, Notice, Select, SubmitButton } from "../../shared/forms";
import { errorText, useAction, usePageTitle } from "../../shared/hooks";
import type { Invitation, Member, Role } from "./api";
import {
  useChangeMemberRole,
  useInvitations,
  useInvite,
  useMembers,
  useRemoveMember,
  useRevokeInvitation,
  useRoles,
} from "./hooks";
import { useOrganization } from "./OrganizationLayout";

export function MembersPage() {
  usePageTitle("Members");
  const { organization, can } = useOrganization();
  const org_id = organization.id;
  const manage = can("members:manage");
  const members = useMembers(org_id);
  const roles = useRoles(org_id);
  const invitations = useInvitations(org_id, manage);
  const roleList = roles.data?.items ?? [];

  return (
    <>
      <h2>Members</h2>
      <ErrorMessage error={errorText(members.error)} />
      {members.isPending && <Loading />}
      {members.data && <MemberTable members={members.data.items} roles={roleList} manage={manage} />}
      {manage && (
        <>
          <InviteForm roles={roleList} />
          <h2>Invitations</h2>
          <ErrorMessage error={errorText(invitations.error)} />
          {invitations.data && invitations.data.items.length === 0 && (
            <p className="empty">No invitations yet.</p>
          )}
          {invitations.data && invitations.data.items.length > 0 && (
            <InvitationTable invitations={invitations.data.items} />
          )}
        </>
      )}
      <h2>Roles</h2>
      {roles.data && (
        <table>
          <thead>
            <tr>
              <th scope="col">Role</th>
              <th scope="col">Permissions</th>
            </tr>
          </thead>
          <tbody>
            {roleList.map((role) => (
              <tr key={role.id}>
                <td>
                  {role.name}
                  {!role.builtin && <span className="badge">custom</span>}
                </td>
                <td className="small">{role.permissions.join(", ")}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </>
  );
}

function MemberTable({ members, roles, manage }: { members: Member[]; roles: Role[]; manage: boolean }) {
  const { organization } = useOrganization();
  const { user } = useAuth();
  const action = useAction();
  const changeMemberRole = useChangeMemberRole(organization.id);
  const removeMember = useRemoveMember(organization.id);

  async function changeRole(userId: string, role: string) {
    await action.run(() => changeMemberRole.mutateAsync({ userId, role }));
  }

  async function remove(userId: string, email: string) {
    if (!window.confirm(`Remove ${email} from ${organization.name}?`)) return;
    await action.run(() => removeMember.mutateAsync(userId));
  }

  return (
    <>
      <ErrorMessage error={action.error} />
      <table>
        <thead>
          <tr>
            <th scope="col">Member</th>
            <th scope="col">Role</th>
            <th scope="col">Joined</th>
            {manage && (
              <th scope="col">
                <span className="visually-hidden">Actions</span>
              </th>
            )}
          </tr>
        </thead>
        <tbody>
          {members.map((member) => (
            <tr key={member.user_id}>
              <td>
                {member.full_name ? `${member.full_name} ` : ""}
                <span className="muted">{member.email}</span>
                {member.user_id === user?.id && <span className="badge">you</span>}
              </td>
              <td>
                {manage ? (
                  <label>
                    <span className="visually-hidden">Role of {member.email}</span>
                    <select
                      value={member.role}
                      disabled={action.busy}
                      onChange={(event) => changeRole(member.user_id, event.target.value)}
                    >
                      {roles.map((role) => (
                        <option key={role.id} value={role.name}>
                          {role.name}
                        </option>
                      ))}
                    </select>
                  </label>
                ) : (
                  member.role
                )}
              </td>
              <td>{formatDate(member.joined_at)}</td>
              {manage && (
                <td>
                  <button
                    type="button"
                    className="secondary"
                    disabled={action.busy}
                    onClick={() => remove(member.user_id, member.email)}
                  >
                    Remove
                  </button>
                </td>
              )}
            </tr>
          ))}
        </tbody>
      </table>
    </>
  );
}

function InviteForm({ roles }: { roles: Role[] }) {
  const { organization } = useOrganization();
  const action = useAction();
  const invite = useInvite(organization.id);
  const [email, setEmail] = useState("");
  const [role, setRole] = useState("member");
  const [sentTo, setSentTo] = useState<string | null>(null);

  async function submit(event: FormEvent) {
    event.preventDefault();
    setSentTo(null);
    if (await action.run(() => invite.mutateAsync({ email, role }))) {
      setSentTo(email);
      setEmail("");
    }
  }

  const options = (roles.length ? roles.map((r) => r.name) : ["member"]).map((name) => ({
    value: name,
    label: name,
  }));
  return (
    <section className="card" aria-labelledby="invite-title">
      <h2 id="invite-title">Invite someone</h2>
      <form onSubmit={submit} className="inline">
        <Field
          label="Email"
          name="invite_email"
          type="email"
          required
          value={email}
          onValue={setEmail}
        />
        <Select label="Role" name="invite_role" value={role} options={options} onChange={setRole} />
        <SubmitButton busy={action.busy}>Send invitation</SubmitButton>
      </form>
      <ErrorMessage error={action.error} />
      {sentTo && <Notice>Invitation sent to {sentTo}. The link is valid for 7 days.</Notice>}
    </section>
  );
}

function InvitationTable({ invitations }: { invitations: Invitation[] }) {
  const { organization } = useOrganization();
  const action = useAction();
  const revokeInvitation = useRevokeInvitation(organization.id);

  async function revoke(invitationId: string) {
    await action.run(() => revokeInvitation.mutateAsync(invitationId));
  }

  return (
    <>
      <ErrorMessage error={action.error} />
      <table>
        <thead>
          <tr>
            <th scope="col">Email</th>
            <th scope="col">Role</th>
            <th scope="col">Status</th>
            <th scope="col">Expires</th>
            <th scope="col">
              <span className="visually-hidden">Actions</span>
            </th>
          </tr>
        </thead>
        <tbody>
          {invitations.map((invitation) => (
            <tr key={invitation.id}>
              <td>{invitation.email}</td>
              <td>{invitation.role}</td>
              <td>{invitation.status}</td>
              <td>{formatDate(invitation.expires_at)}</td>
              <td>
                {invitation.status === "pending" && (
                  <button
                    type="button"
                    className="secondary"
                    disabled={action.busy}
                    onClick={() => revoke(invitation.id)}
                  >
                    Revoke
                  </button>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </>
  );
}
