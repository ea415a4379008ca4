/**
 * How much of a client's input a session keeps and answers. JSON values are measured as what is
 * stored and sent: their JSON, in UTF-8 bytes (a string's length counts UTF-16 units).
 */

/** `userMetadata`: kept in the session's record and in every row of its project's list. */
export const MAX_USER_METADATA_BYTES = 16 * 1024;
/**
 * `browserSettings` (with a top-level extensionId folded in): kept in the session's record and
 * sent to its node in the assignment, over the pool link.
 */
export const MAX_BROWSER_SETTINGS_BYTES = 16 * 1024;
/** `proxies`: kept in the session's record; their routes go to the node. */
export const MAX_PROXIES_BYTES = 4 * 1024;
/** `GET /v1/sessions` answers at most this many (the newest that match); the SDK has no paging. */
export const MAX_LISTED_SESSIONS = 1000;

const encoder = new TextEncoder();

export const utf8Bytes = (text: string) => encoder.encode(text).length;
export const jsonBytes = (value: unknown) => utf8Bytes(JSON.stringify(value));
