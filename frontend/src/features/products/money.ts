/** Prices travel as integers of the currency's minor unit (cents); people type decimals. */

export function minorUnitDigits(currency: string): number {
  try {
    return new Intl.NumberFormat("en", { style: "currency", currency }).resolvedOptions()
      .maximumFractionDigits ?? 2;
  } catch {
    return 2;
  }
}

/** "12.5" in EUR → 1250; null when the text is not a price. Exact: no floating point. */
export function parsePrice(text: string, currency: string): number | null {
  const digits = minorUnitDigits(currency);
  const match = /^\s*(\d+)(?:[.,](\d*))?\s*$/.exec(text);
  if (!match) return null;
  const whole = match[1] as string;
  const fraction = match[2] ?? "";
  if (fraction.length > digits) return null;
  const minor = Number(whole + fraction.padEnd(digits, "0"));
  return Number.isSafeInteger(minor) ? minor : null;
}

export function priceText(cents: number, currency: string): string {
  const digits = minorUnitDigits(currency);
  if (digits === 0) return String(cents);
  const text = String(cents).padStart(digits + 1, "0");
  return `${text.slice(0, -digits)}.${text.slice(-digits)}`;
}

export function formatPrice(cents: number, currency: string): string {
  const digits = minorUnitDigits(currency);
  try {
    return new Intl.NumberFormat(undefined, { style: "currency", currency }).format(
      cents / 10 ** digits,
    );
  } catch {
    return `${priceText(cents, currency)} ${currency}`;
  }
}
