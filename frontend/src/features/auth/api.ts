/**
 * Accounts: registration, passwords, email verification and the profile. Sign-in, refresh
 * and sign-out are not here: they belong to the session (src/auth/session.ts).
 */
import { api, type Schemas, unwrap } from "../../api/client";

export function register(body: Schemas["RegisterRequest"]) {
  return unwrap(api.POST("/auth/register", { body }));
}

export function forgotPassword(email: string) {
  return unwrap(api.POST("/auth/password/forgot", { body: { email } }));
}

export function resetPassword(token: string, new_password: string) {
  return unwrap(api.POST("/auth/password/reset", { body: { token, new_password } }));
}

export function changePassword(body: Schemas["ChangePasswordRequest"]) {
  return unwrap(api.POST("/auth/password/change", { body }));
}

export function verifyEmail(token: string) {
  return unwrap(api.POST("/auth/verify", { body: { token } }));
}

export function requestVerification() {
  return unwrap(api.POST("/auth/verify/request"));
}

export function updateProfile(body: Schemas["UserUpdateSelf"]) {
  return unwrap(api.PATCH("/users/me", { body }));
}
