/** The local platform's one error type: a message fit to print as the only line a user sees. */
export class PlatformError extends Error {}
