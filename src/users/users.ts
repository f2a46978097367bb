/** User ids and where each user's records live in the store. */
import { createHash } from "node:crypto";
import { InputError } from "../errors/errors.js";

/** Every kind of per-user record; `forget` deletes all of them. */
export const USER_RECORD_KINDS = ["episodic", "profile", "persona", "interactions", "threads", "meta"] as const;
export type UserRecordKind = (typeof USER_RECORD_KINDS)[number];

/**
 * Control (Cc: C0, DEL, C1 such as U+0085) and format (Cf: bidi overrides such as U+202E,
 * zero-width characters such as U+200B) characters: invisible or reordering, they would let
 * `ali\u200bce` pass for `alice` in every listing and log.
 */
const HIDDEN_CHARACTER = /[\p{Cc}\p{Cf}]/u;

/**
 * A valid user id in Unicode NFC: "Zoë" typed as one code point or as "e" + combining diaeresis
 * is one user (every namespace, file key and lock derives from the normalized form).
 */
export function validateUserId(userId: unknown): string {
  if (typeof userId !== "string" || userId.trim() === "" || userId.length > 128 || HIDDEN_CHARACTER.test(userId)) {
    throw new InputError(
      "userId",
      (input) =>
        `invalid user id ${JSON.stringify(userId ?? null)} (${input}): use 1-128 printable characters (no control, format or zero-width characters)`,
    );
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
