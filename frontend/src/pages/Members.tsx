import { type FormEvent, useState } from "react";

import { api, type Schemas, unwrap } from "../api/client";
import { useAuth } from "../auth/AuthProvider";
import { ErrorMessage, Field, formatDate, Loading, Notice, Select, SubmitButton } from "../components/forms";
import { useAction, usePageTitle, useResource } from "../components/hooks";
import { useOrganization } from "./OrganizationLayout";

type Role = Schemas["RoleRead"];

export function MembersPage() {
  usePageTitle("Members");
  const { organization, can } = useOrganization();
  const org_id = organization.id;
  const manage = can("members:manage");
  const members = useResource(
    () => unwrap(api.GET("/organizations/{org_id}/members", { params: { path: { org_id }, query: { limit: 200 } } })),
    [org_id],
  );
  const roles = useResource(
    () => unwrap(api.GET("/organizations/{org_id}/roles", { params: { path: { org_id } } })),
    [org_id],
  );
  const invitations = useResource(
    () =>
      manage
        ? unwrap(api.GET("/organizations/{org_id}/invitations", { params: { path: { org_id }, query: { limit: 200 } } }))
        : Promise.resolve(null),
    [org_id, manage],
  );
  const roleList = roles.data?.items ?? [];

  return (
    <>
      <h2>Members</h2>
      <ErrorMessage error={members.error} />
      {members.loading && !members.data && <Loading />}
      {members.data && (
        <MemberTable
          members={members.data.items}
          roles={roleList}
          manage={manage}
          onChanged={members.reload}
        />
      )}
      {manage && (
        <>
          <InviteForm roles={roleList} onInvited={invitations.reload} />
          <h2>Invitations</h2>
          <ErrorMessage error={invitations.error} />
          {invitations.data && invitations.data.items.length === 0 && (
            <p className="empty">No invitations yet.</p>
          )}
          {invitations.data && invitations.data.items.length > 0 && (
            <InvitationTable invitations={invitations.data.items} onChanged={invitations.reload} />
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

function MemberTable({
  members,
  roles,
  manage,
  onChanged,
}: {
  members: Schemas["MemberRead"][];
  roles: Role[];
  manage: boolean;
  onChanged(): void;
}) {
  const { organization } = useOrganization();
  const { user } = useAuth();
  const action = useAction();
  const org_id = organization.id;

  async function changeRole(user_id: string, role: string) {
    if (
      await action.run(() =>
        unwrap(api.PATCH("/organizations/{org_id}/members/{user_id}", { params: { path: { org_id, user_id } }, body: { role } })),
      )
    ) {
      onChanged();
    }
  }

  async function remove(user_id: string, email: string) {
    if (!window.confirm(`Remove ${email} from ${organization.name}?`)) return;
    if (
      await action.run(() =>
        unwrap(api.DELETE("/organizations/{org_id}/members/{user_id}", { params: { path: { org_id, user_id } } })),
      )
    ) {
      onChanged();
    }
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

function InviteForm({ roles, onInvited }: { roles: Role[]; onInvited(): void }) {
  const { organization } = useOrganization();
  const action = useAction();
  const [email, setEmail] = useState("");
  const [role, setRole] = useState("member");
  const [sentTo, setSentTo] = useState<string | null>(null);

  async function submit(event: FormEvent) {
    event.preventDefault();
    setSentTo(null);
    const done = await action.run(() =>
      unwrap(
        api.POST("/organizations/{org_id}/invitations", {
          params: { path: { org_id: organization.id } },
          body: { email, role },
        }),
      ),
    );
    if (done) {
      setSentTo(email);
      setEmail("");
      onInvited();
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
          onChange={(event) => setEmail(event.target.value)}
        />
        <Select label="Role" name="invite_role" value={role} options={options} onChange={setRole} />
        <SubmitButton busy={action.busy}>Send invitation</SubmitButton>
      </form>
      <ErrorMessage error={action.error} />
      {sentTo && <Notice>Invitation sent to {sentTo}. The link is valid for 7 days.</Notice>}
    </section>
  );
}

function InvitationTable({
  invitations,
  onChanged,
}: {
  invitations: Schemas["InvitationRead"][];
  onChanged(): void;
}) {
  const { organization } = useOrganization();
  const action = useAction();

  async function revoke(invitation_id: string) {
    if (
      await action.run(() =>
        unwrap(
          api.DELETE("/organizations/{org_id}/invitations/{invitation_id}", {
            params: { path: { org_id: organization.id, invitation_id } },
          }),
        ),
      )
    ) {
      onChanged();
    }
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
