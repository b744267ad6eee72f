import { queryOptions } from "@tanstack/react-query";

import { api, unwrap } from "../api/client";

/**
 * The signed-in user (GET /users/me), loaded by the AuthProvider while signed in. Features
 * that change the profile write their answer into this entry (features/auth/hooks.ts).
 */
export const currentUserQuery = queryOptions({
  queryKey: ["users", "me"],
  queryFn: () => unwrap(api.GET("/users/me")),
});
