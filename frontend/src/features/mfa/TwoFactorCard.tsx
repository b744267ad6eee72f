import { type FormEvent, useState } from "react";

import type { Schemas } from "../../api/client";
import { ApiError } from "../../api/problem";
import { useAuth } from "../../auth/AuthProvider";
import { normaliseTotp } from "../../auth/mfa";
import type { ReauthenticateBody } from "../../auth/session";
import { ErrorMessage, Field, formatDate, Loading, Notice, SubmitButton } from "../../shared/forms";
import { errorText, useAction } from "../../shared/hooks";
import { downloadText, groupSecret, recoveryCodesText, svgDataUrl } from "./display";
import { useConfirmTotp, useEnrolTotp, useMfaOverview, useRemoveFactor } from "./hooks";

type Enrolment = Schemas["TotpEnrolment"];
type Factor = Schemas["MfaFactorRead"];

/** The Profile page's card: the user's second factors, TOTP enrolment and removal. */
export function TwoFactorCard() {
  const overview = useMfaOverview();
  const [enrolment, setEnrolment] = useState<Enrolment | null>(null);
  const [recoveryCodes, setRecoveryCodes] = useState<string[] | null>(null);
  const factors = overview.data?.factors ?? [];

  return (
    <section className="card" aria-labelledby="mfa-card-title">
      <h2 id="mfa-card-title">Two-factor authentication</h2>
      {overview.isPending ? (
        <Loading what="Loading your factors" />
      ) : (
        <>
          <ErrorMessage error={errorText(overview.error)} />
          {factors.length === 0 ? (
            <p className="muted">Off. Add an authenticator app so a password alone cannot open your account.</p>
          ) : (
            <>
              <p>
                On. Recovery codes left: <strong data-testid="recovery-codes-left">{overview.data?.recovery_codes_left ?? 0}</strong>
              </p>
              <FactorList factors={factors} />
            </>
          )}
        </>
      )}
      {recoveryCodes ? (
        <RecoveryCodes codes={recoveryCodes} onDone={() => setRecoveryCodes(null)} />
      ) : enrolment ? (
        <ConfirmEnrolment
          enrolment={enrolment}
          onCancel={() => setEnrolment(null)}
          onConfirmed={(codes) => {
            setEnrolment(null);
            if (codes.length > 0) setRecoveryCodes(codes);
          }}
        />
      ) : (
        <StartEnrolment onStarted={setEnrolment} />
      )}
    </section>
  );
}

function FactorList({ factors }: { factors: Factor[] }) {
  return (
    <ul className="factors">
      {factors.map((factor) => (
        <FactorItem key={factor.id} factor={factor} />
      ))}
    </ul>
  );
}

function FactorItem({ factor }: { factor: Factor }) {
  const action = useAction();
  const removeFactor = useRemoveFactor();
  const [stepUp, setStepUp] = useState(false);

  async function remove() {
    if (!window.confirm(`Remove “${factor.name}”?`)) return;
    await attempt();
  }

  async function attempt() {
    const outcome: { stepUp: boolean } = { stepUp: false };
    await action.run(async () => {
      try {
        await removeFactor.mutateAsync(factor.id);
      } catch (error) {
        if (error instanceof ApiError && error.code === "step_up_required") {
          outcome.stepUp = true;
          return;
        }
        throw error;
      }
    });
    setStepUp(outcome.stepUp);
  }

  return (
    <li>
      <span>
        <strong>{factor.name}</strong> <span className="muted">({factor.kind === "totp" ? "authenticator app" : factor.kind})</span>
        <br />
        <small className="muted">
          Added {formatDate(factor.created_at)} · last used {formatDate(factor.last_used_at)}
        </small>
      </span>
      {stepUp ? (
        <StepUpForm
          purpose={`remove “${factor.name}”`}
          onCancel={() => setStepUp(false)}
          onConfirmed={() => {
            setStepUp(false);
            void attempt();
          }}
        />
      ) : (
        <button type="button" className="secondary" onClick={() => void remove()} disabled={action.busy}>
          Remove {factor.name}
        </button>
      )}
      <ErrorMessage error={action.error} />
    </li>
  );
}

/** Step-up (RFC 9470): prove it is still you, then the caller retries its action. */
function StepUpForm({ purpose, onConfirmed, onCancel }: { purpose: string; onConfirmed: () => void; onCancel: () => void }) {
  const { reauthenticate } = useAuth();
  const action = useAction();
  const [kind, setKind] = useState<"code" | "recovery_code" | "password">("code");
  const [value, setValue] = useState("");

  async function submit(event: FormEvent) {
    event.preventDefault();
    const body: ReauthenticateBody =
      kind === "code" ? { code: normaliseTotp(value) } : kind === "recovery_code" ? { recovery_code: value.trim() } : { password: value };
    if (await action.run(() => reauthenticate(body))) onConfirmed();
  }

  const labels = { code: "Authentication code", recovery_code: "Recovery code", password: "Password" } as const;
  const choices = { code: "my authenticator app", recovery_code: "a recovery code", password: "my password" } as const;
  return (
    <form onSubmit={submit} className="step-up" aria-label="Confirm it is you">
      <Notice>To {purpose}, confirm it is you.</Notice>
      <fieldset>
        <legend>Confirm with</legend>
        {(["code", "recovery_code", "password"] as const).map((option) => (
          <label key={option}>
            <input
              type="radio"
              name="step_up_kind"
              checked={kind === option}
              onChange={() => {
                setKind(option);
                setValue("");
              }}
            />{" "}
            {choices[option]}
          </label>
        ))}
      </fieldset>
      <Field
        key={kind}
        label={labels[kind]}
        name={kind}
        type={kind === "password" ? "password" : "text"}
        autoComplete={kind === "code" ? "one-time-code" : kind === "password" ? "current-password" : "off"}
        inputMode={kind === "code" ? "numeric" : undefined}
        required
        value={value}
        onValue={setValue}
      />
      <ErrorMessage error={action.error} />
      <SubmitButton busy={action.busy}>Confirm</SubmitButton>{" "}
      <button type="button" className="secondary" onClick={onCancel}>
        Cancel
      </button>
    </form>
  );
}

function StartEnrolment({ onStarted }: { onStarted: (enrolment: Enrolment) => void }) {
  const action = useAction();
  const enrol = useEnrolTotp();
  async function start() {
    const result: { enrolment: Enrolment | null } = { enrolment: null };
    const done = await action.run(async () => {
      result.enrolment = await enrol.mutateAsync(undefined);
    });
    if (done && result.enrolment) onStarted(result.enrolment);
  }
  return (
    <>
      <button type="button" onClick={() => void start()} disabled={action.busy}>
        Set up an authenticator app
      </button>
      <ErrorMessage error={action.error} />
    </>
  );
}

function ConfirmEnrolment({
  enrolment,
  onConfirmed,
  onCancel,
}: {
  enrolment: Enrolment;
  onConfirmed: (recoveryCodes: string[]) => void;
  onCancel: () => void;
}) {
  const action = useAction();
  const confirm = useConfirmTotp();
  const [code, setCode] = useState("");

  async function submit(event: FormEvent) {
    event.preventDefault();
    const result: { codes: string[] } = { codes: [] };
    const done = await action.run(async () => {
      result.codes = (await confirm.mutateAsync({ factorId: enrolment.factor_id, code: normaliseTotp(code) })).recovery_codes;
    });
    if (done) onConfirmed(result.codes);
    else setCode("");
  }

  return (
    <div className="enrolment">
      <h3>Set up an authenticator app</h3>
      <p>Scan this QR code with your authenticator app.</p>
      <img src={svgDataUrl(enrolment.qr_svg)} alt="QR code for your authenticator app" width={200} height={200} />
      <p>
        Or enter this key by hand: <code data-testid="totp-secret">{groupSecret(enrolment.secret)}</code>
      </p>
      <form onSubmit={submit}>
        <Field
          label="Code from the app"
          name="code"
          autoComplete="one-time-code"
          inputMode="numeric"
          pattern="[0-9 ]{6,7}"
          maxLength={7}
          required
          hint="Enter the 6-digit code the app shows to finish."
          value={code}
          onValue={setCode}
        />
        <ErrorMessage error={action.error} />
        <SubmitButton busy={action.busy}>Turn on</SubmitButton>{" "}
        <button type="button" className="secondary" onClick={onCancel}>
          Cancel
        </button>
      </form>
    </div>
  );
}

/** The recovery codes, shown this once: copy them or download them as a text file. */
function RecoveryCodes({ codes, onDone }: { codes: string[]; onDone: () => void }) {
  const { user } = useAuth();
  const [copied, setCopied] = useState<string | null>(null);
  const text = recoveryCodesText(codes, user?.email ?? "your account");

  async function copy() {
    try {
      await navigator.clipboard.writeText(text);
      setCopied("Copied.");
    } catch {
      setCopied("Copying is not allowed here: select the codes and copy them, or download them.");
    }
  }

  return (
    <div className="recovery-codes">
      <h3>Save your recovery codes</h3>
      <Notice>Two-factor authentication is on. These codes are shown only now.</Notice>
      <p>Each code signs you in once if you lose your authenticator app. Keep them somewhere safe.</p>
      <ul aria-label="Recovery codes" className="codes">
        {codes.map((code) => (
          <li key={code}>
            <code>{code}</code>
          </li>
        ))}
      </ul>
      <button type="button" className="secondary" onClick={() => void copy()}>
        Copy
      </button>{" "}
      <button type="button" className="secondary" onClick={() => downloadText("tenantry-recovery-codes.txt", text)}>
        Download (.txt)
      </button>{" "}
      <button type="button" onClick={onDone}>
        I have saved them
      </button>
      {copied && <p className="muted" role="status">{copied}</p>}
    </div>
  );
}
