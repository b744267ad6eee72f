import { AuthSession } from "./session";

/** The one session of this tab. Its access token never leaves this module's memory. */
export const auth = new AuthSession();
