/** The signed-in user's sessions (browsers and apps holding a refresh token). */
import { api, type Schemas, unwrap } from "../../api/client";

export type Session = Schemas["SessionRead"];

export function listSessions(cursor: string | undefined) {
  return unwrap(api.GET("/auth/sessions", { params: { query: { cursor, limit: 50 } } }));
}

export function revokeSession(session_id: string) {
  return unwrap(api.DELETE("/auth/sessions/{session_id}", { params: { path: { session_id } } }));
}
