import { type ChangeEvent, type InputHTMLAttributes, type ReactNode, useId } from "react";

interface FieldProps extends InputHTMLAttributes<HTMLInputElement> {
  label: string;
  hint?: ReactNode;
  /** Called with the input's new text (a shorter `onChange` for string state). */
  onValue?: (value: string) => void;
}

/** A labelled input; the hint is tied to it with aria-describedby so screen readers read it. */
export function Field({ label, hint, id, onValue, ...input }: FieldProps) {
  const generated = useId();
  const inputId = id ?? generated;
  const hintId = `${inputId}-hint`;
  const onChange = onValue
    ? (event: ChangeEvent<HTMLInputElement>) => onValue(event.target.value)
    : input.onChange;
  return (
    <div className="field">
      <label htmlFor={inputId}>{label}</label>
      <input
        id={inputId}
        aria-describedby={hint ? hintId : undefined}
        {...input}
        onChange={onChange}
      />
      {hint && (
        <small id={hintId} className="hint">
          {hint}
        </small>
      )}
    </div>
  );
}

type PresetProps = Omit<FieldProps, "type" | "autoComplete" | "required" | "minLength">;

/** A password being chosen: at least 8 characters, offered to password managers as new. */
export function NewPasswordField(props: PresetProps) {
  return <Field type="password" autoComplete="new-password" required minLength={8} {...props} />;
}

interface SelectProps {
  label: string;
  value: string;
  options: { value: string; label: string }[];
  onChange: (value: string) => void;
  disabled?: boolean;
  name?: string;
}

export function Select({ label, value, options, onChange, disabled, name }: SelectProps) {
  const id = useId();
  return (
    <div className="field">
      <label htmlFor={id}>{label}</label>
      <select
        id={id}
        name={name}
        value={value}
        disabled={disabled}
        onChange={(event) => onChange(event.target.value)}
      >
        {options.map((option) => (
          <option key={option.value} value={option.value}>
            {option.label}
          </option>
        ))}
      </select>
    </div>
  );
}

/** Errors are announced as they appear (role=alert is an assertive live region). */
export function ErrorMessage({ error }: { error: string | null | undefined }) {
  return (
    <div className="live" aria-live="assertive">
      {error ? (
        <p className="error" role="alert">
          {error}
        </p>
      ) : null}
    </div>
  );
}

export function Notice({ children }: { children: ReactNode }) {
  return (
    <p className="notice" role="status">
      {children}
    </p>
  );
}

export function Loading({ what = "Loading" }: { what?: string }) {
  return (
    <p className="muted" role="status" aria-busy="true">
      {what}…
    </p>
  );
}

export function SubmitButton({ busy, children }: { busy: boolean; children: ReactNode }) {
  return (
    <button type="submit" disabled={busy} aria-busy={busy}>
      {busy ? "Working…" : children}
    </button>
  );
}

export function formatDate(value: string | null | undefined): string {
  if (!value) return "—";
  return new Date(value).toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" });
}
