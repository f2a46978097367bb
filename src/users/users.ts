/** User ids and where each user's records live in the store. */
import { createHash } from "node:crypto";
import { InputError } from "../errors/errors.js";

/** Every kind of per-user record; `forget` deletes all of them. */
export const USER_RECORD_KINDS = ["episodic", "profile", "persona", "interactions", "threads", "meta"] as const;
export type UserRecordKind = (typeof USER_RECORD_KINDS)[number];

/**
 * A valid user id in Unicode NFC: "Zoë" typed as one code point or as "e" + combining diaeresis
 * is one user (every namespace, file key and lock derives from the normalized form).
 */
export function validateUserId(userId: unknown): string {
  // eslint-disable-next-line no-control-regex
  if (typeof userId !== "string" || userId.trim() === "" || userId.length > 128 || /[\u0000-\u001f\u007f]/.test(userId)) {
    throw new InputError("userId", (input) => `invalid user id ${JSON.stringify(userId ?? null)} (${input}): use 1-128 printable characters`);
  }
  return userId.normalize("NFC");
}

/** Ids that are their own namespace label; anything else is hex-encoded behind a "~". */
const PLAIN_ID = /^[A-Za-z0-9@+-]+$/;

/**
 * Store namespace of one user's records. Labels may not contain "." (LangGraph), nor "%", "_"
 * or "\\" (PostgresStore's prefix search), so ids with other characters are hex-encoded; the
 * "~" marks the encoded form, which no plain id can take, so every id maps to one label.
 */
export function userNamespace(userId: string, kind?: UserRecordKind): string[] {
  const id = validateUserId(userId);
  const label = PLAIN_ID.test(id) ? id : `~${Buffer.from(id, "utf8").toString("hex")}`;
  return kind ? ["users", label, kind] : ["users", label];
}

/** A file-system-safe name for a user's derived files that does not reveal the id. */
export function userFileKey(userId: string): string {
  return createHash("sha256").update(validateUserId(userId)).digest("hex").slice(0, 32);
}
