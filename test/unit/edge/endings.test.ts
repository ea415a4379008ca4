/** How every way a session ends becomes its final status (edge/sessions/endings.ts). */
import { describe, expect, it } from "vitest";
import { EXIT_REASONS, type ExitReason } from "../../../edge/node-protocol.ts";
import { describeStoppedTask, statusForExit, statusForStoppedTask } from "../../../edge/sessions/endings.ts";
import type { FinalStatus, SessionRecord } from "../../../edge/sessions/session-record.ts";

describe("statusForExit", () => {
  it("gives every reason a node can report a final status: clean ends complete, deadlines time out, the rest fail", () => {
    const expected: Record<ExitReason, FinalStatus> = {
      released: "COMPLETED",
      idle: "COMPLETED",
      "timed-out": "TIMED_OUT",
      "never-connected": "TIMED_OUT",
      // A SIGTERM the edge did not ask for; after a release the session is already COMPLETED.
      terminated: "ERROR",
      "browser-crashed": "ERROR",
      "not-ready": "ERROR",
      error: "ERROR",
    };
    expect(Object.fromEntries(EXIT_REASONS.map((reason) => [reason, statusForExit(reason)]))).toEqual(expected);
  });
});

describe("statusForStoppedTask", () => {
  const expiresAt = 1_800_000_000_000;
  const record = { expiresAt } as SessionRecord;

  it("calls a task stopped at or after expiresAt timed out, whatever its exit code", () => {
    expect(statusForStoppedTask(record, { containers: [{ exitCode: 0 }] }, expiresAt)).toBe("TIMED_OUT");
    expect(statusForStoppedTask(record, { containers: [{ exitCode: 137 }] }, expiresAt + 1)).toBe("TIMED_OUT");
  });

  it("before expiry, completes only on exit code 0: a missing code is a failure, not a success", () => {
    const before = expiresAt - 1;
    expect(statusForStoppedTask(record, { containers: [{ exitCode: 0 }] }, before)).toBe("COMPLETED");
    expect(statusForStoppedTask(record, { containers: [{ exitCode: 1 }] }, before)).toBe("ERROR");
    expect(statusForStoppedTask(record, { containers: [{}] }, before)).toBe("ERROR");
    expect(statusForStoppedTask(record, { containers: [] }, before)).toBe("ERROR");
    expect(statusForStoppedTask(record, {}, before)).toBe("ERROR");
  });

  it("reads the first container that has an exit code", () => {
    expect(statusForStoppedTask(record, { containers: [{}, { exitCode: 0 }, { exitCode: 2 }] }, expiresAt - 1)).toBe("COMPLETED");
  });
});

describe("describeStoppedTask", () => {
  it("names the stop code and reason when ECS gave them, and leaves out what it did not", () => {
    expect(describeStoppedTask({ stopCode: "EssentialContainerExited", stoppedReason: "Essential container in task exited" })).toBe(
      "task stopped (EssentialContainerExited): Essential container in task exited",
    );
    expect(describeStoppedTask({ stopCode: "UserInitiated" })).toBe("task stopped (UserInitiated)");
    expect(describeStoppedTask({ stoppedReason: "released" })).toBe("task stopped: released");
    expect(describeStoppedTask({ stopCode: "", stoppedReason: "" })).toBe("task stopped");
  });
});
