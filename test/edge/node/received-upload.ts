/** What the node receiver (node-receiver.ts) records of an upload; the tests read it back as JSON. */
export interface ReceivedUpload {
  name: string;
  /** The CDP token's `sub` and `pid`, when the token was valid. */
  sessionId?: string;
  projectId?: string;
  bytes: number;
  sha256?: string;
  contentType?: string;
  transferEncoding?: string;
  /** The receiver's answer; -1 when the body was cut off (nothing kept). */
  status: number;
}
