/** User ids and where each user's records live in the store. */
import { createHash } from "node:crypto";
import { UserError } from "./errors.js";

/** Every kind of per-user record; `forget` deletes all of them. */
export type UserRecordKind = "episodic" | "profile" | "persona" | "interactions" | "meta";

export function validateUserId(userId: unknown): string {
  // eslint-disable-next-line no-control-regex
  if (typeof userId !== "string" || userId.trim() === "" || userId.length > 128 || /[\u0000-\u001f\u007f]/.test(userId)) {
    throw new UserError(`invalid user id ${JSON.stringify(userId ?? null)}: use 1-128 printable characters`);
  }
  return userId;
}

/**
 * Store namespace of one user's records. The id is percent-encoded (dots too, which
 * LangGraph forbids in namespace labels), so any id maps to exactly one label.
 */
export function userNamespace(userId: string, kind?: UserRecordKind): string[] {
  const label = encodeURIComponent(validateUserId(userId)).replaceAll(".", "%2E");
  return kind ? ["users", label, kind] : ["users", label];
}

/** A file-system-safe name for a user's derived files that does not reveal the id. */
export function userFileKey(userId: string): string {
  return createHash("sha256").update(validateUserId(userId)).digest("hex").slice(0, 32);
}
