/**
 * Second factors of the signed-in user (DESIGN.md §10): TOTP enrolment, the factor list,
 * removal. The sign-in challenge and step-up live with the session (src/auth).
 */
import { api, unwrap } from "../../api/client";

export function getOverview() {
  return unwrap(api.GET("/auth/mfa"));
}

export function enrolTotp(name?: string) {
  return unwrap(api.POST("/auth/mfa/totp", { body: name ? { name } : {} }));
}

export function confirmTotp(factorId: string, code: string) {
  return unwrap(api.POST("/auth/mfa/totp/{factor_id}/confirm", { params: { path: { factor_id: factorId } }, body: { code } }));
}

export function removeFactor(factorId: string) {
  return unwrap(api.DELETE("/auth/mfa/factors/{factor_id}", { params: { path: { factor_id: factorId } } }));
}
