/** Helpers for showing enrolment material: the QR code and the recovery codes. */

/**
 * The QR code SVG of /auth/mfa/totp as an image address. An <img> never runs scripts or
 * loads anything an SVG asks for, so even unexpected markup stays inert (no innerHTML).
 */
export function svgDataUrl(svg: string): string {
  return `data:image/svg+xml;utf8,${encodeURIComponent(svg)}`;
}

/** The secret in groups of four, easier to type into an app by hand. */
export function groupSecret(secret: string): string {
  return secret.replace(/\s/g, "").replace(/(.{4})(?=.)/g, "$1 ");
}

/** The text of the downloadable recovery-code file: one code a line, with what they are. */
export function recoveryCodesText(codes: string[], account: string): string {
  return [
    `Tenantry recovery codes for ${account}`,
    "Each code signs you in once if you lose your authenticator app. Keep them safe.",
    "",
    ...codes,
    "",
  ].join("\n");
}

/** Offers `text` as a file download through a temporary object URL. */
export function downloadText(filename: string, text: string): void {
  const url = URL.createObjectURL(new Blob([text], { type: "text/plain;charset=utf-8" }));
  const link = document.createElement("a");
  link.href = url;
  link.download = filename;
  document.body.append(link);
  link.click();
  link.remove();
  URL.revokeObjectURL(url);
}
