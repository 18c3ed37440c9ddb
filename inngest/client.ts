/**
 * The Inngest client shared by the app (to send events) and the functions.
 * Its settings (dev mode, base URL, event and signing keys) come from the
 * standard INNGEST_* environment variables, which the SDK reads itself.
 */
import { Inngest } from "inngest";

export const inngest = new Inngest({ id: "dispatch" });
