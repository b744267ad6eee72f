import { type FormEvent, useState } from "react";
import { Link, Navigate, useNavigate, useSearchParams } from "react-router";

import { useAuth } from "../../auth/AuthProvider";
import { type MfaChallenge, normaliseTotp } from "../../auth/mfa";
import { ApiError } from "../../api/problem";
import { ErrorMessage, Field, SubmitButton } from "../../shared/forms";
import { useAction, usePageTitle } from "../../shared/hooks";
import { safeNext } from "../../shared/RequireAuth";

export function SignInPage() {
  usePageTitle("Sign in");
  const { status, signIn } = useAuth();
  const [params] = useSearchParams();
  const navigate = useNavigate();
  const action = useAction();
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const [challenge, setChallenge] = useState<MfaChallenge | null>(null);
  const [expired, setExpired] = useState(false);
  const next = safeNext(params.get("next"));

  if (status === "signed-in") return <Navigate to={next} replace />;

  async function submit(event: FormEvent) {
    event.preventDefault();
    setExpired(false);
    const answer: { challenge: MfaChallenge | null } = { challenge: null };
    const done = await action.run(async () => {
      answer.challenge = await signIn(email, password);
    });
    if (!done) return;
    if (answer.challenge) {
      setChallenge(answer.challenge);
      setPassword("");
    } else void navigate(next, { replace: true });
  }

  if (challenge) {
    return (
      <MfaStep
        challenge={challenge}
        onSignedIn={() => void navigate(next, { replace: true })}
        onStartOver={() => {
          setChallenge(null);
          setExpired(true);
        }}
      />
    );
  }

  const nextQuery = params.get("next") ? `?next=${encodeURIComponent(next)}` : "";
  return (
    <section aria-labelledby="signin-title">
      <h1 id="signin-title">Sign in</h1>
      {params.get("reset") === "1" && (
        <p className="notice" role="status">
          Your password was changed. Sign in with the new one.
        </p>
      )}
      {expired && (
        <p className="notice" role="status">
          The sign-in attempt expired or ran out of tries. Enter your password again.
        </p>
      )}
      <form onSubmit={submit} noValidate={false}>
        <Field
          label="Email"
          name="email"
          type="email"
          autoComplete="username"
          required
          value={email}
          onValue={setEmail}
        />
        <Field
          label="Password"
          name="password"
          type="password"
          autoComplete="current-password"
          required
          value={password}
          onValue={setPassword}
        />
        <ErrorMessage error={action.error} />
        <SubmitButton busy={action.busy}>Sign in</SubmitButton>
      </form>
      <p>
        <Link to="/forgot-password">Forgot your password?</Link>
      </p>
      <p>
        New here? <Link to={`/signup${nextQuery}`}>Create an account</Link>
      </p>
    </section>
  );
}

interface MfaStepProps {
  challenge: MfaChallenge;
  onSignedIn: () => void;
  /** The challenge is spent (`invalid_mfa_token`): back to the password. */
  onStartOver: () => void;
}

/** The second screen of a sign-in: a code from the authenticator app, or a recovery code. */
function MfaStep({ challenge, onSignedIn, onStartOver }: MfaStepProps) {
  usePageTitle("Two-factor authentication");
  const { verifyMfa } = useAuth();
  const action = useAction();
  const [useRecovery, setUseRecovery] = useState(!challenge.factors.includes("totp") && challenge.factors.length > 0);
  const [code, setCode] = useState("");

  async function submit(event: FormEvent) {
    event.preventDefault();
    const body = useRecovery
      ? { mfa_token: challenge.mfaToken, recovery_code: code.trim() }
      : { mfa_token: challenge.mfaToken, code: normaliseTotp(code) };
    const failure: { spent: boolean } = { spent: false };
    const done = await action.run(async () => {
      try {
        await verifyMfa(body);
      } catch (error) {
        failure.spent = error instanceof ApiError && error.code === "invalid_mfa_token";
        throw error;
      }
    });
    if (done) onSignedIn();
    else if (failure.spent) onStartOver();
    else setCode("");
  }

  function switchKind() {
    setUseRecovery(!useRecovery);
    setCode("");
    action.setError(null);
  }

  return (
    <section aria-labelledby="mfa-title">
      <h1 id="mfa-title">Two-factor authentication</h1>
      <form onSubmit={submit}>
        {useRecovery ? (
          <Field
            key="recovery"
            label="Recovery code"
            name="recovery_code"
            autoComplete="off"
            autoCapitalize="none"
            spellCheck={false}
            required
            autoFocus
            hint="One of the codes you saved when you set up two-factor authentication. Each works once."
            value={code}
            onValue={setCode}
          />
        ) : (
          <Field
            key="totp"
            label="Authentication code"
            name="code"
            autoComplete="one-time-code"
            inputMode="numeric"
            pattern="[0-9 ]{6,7}"
            maxLength={7}
            required
            autoFocus
            hint="The 6-digit code your authenticator app shows now."
            value={code}
            onValue={setCode}
          />
        )}
        <ErrorMessage error={action.error} />
        <SubmitButton busy={action.busy}>Verify</SubmitButton>
      </form>
      <p>
        <button type="button" className="link" onClick={switchKind}>
          {useRecovery ? "Use your authenticator app instead" : "Use a recovery code instead"}
        </button>
      </p>
    </section>
  );
}
