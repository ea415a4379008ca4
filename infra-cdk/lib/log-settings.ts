import { RemovalPolicy } from "aws-cdk-lib";
import * as logs from "aws-cdk-lib/aws-logs";
import type { WallcrawlerConfig } from "./config.ts";

/**
 * Retention and fate on `cdk destroy` of every log group: dev keeps a week and deletes its logs
 * with the stack; prod keeps 90 days and leaves them behind for an investigation after teardown.
 */
export function logSettings(config: WallcrawlerConfig): logs.LogGroupProps {
  return config.mode === "prod"
    ? { retention: logs.RetentionDays.THREE_MONTHS, removalPolicy: RemovalPolicy.RETAIN }
    : { retention: logs.RetentionDays.ONE_WEEK, removalPolicy: RemovalPolicy.DESTROY };
}
