import { App, type AppProps, Validations } from "aws-cdk-lib";
import { AwsSolutionsChecks } from "cdk-nag";
import { readConfig, type WallcrawlerConfig } from "./config.ts";
import { WallcrawlerStack } from "./wallcrawler-stack.ts";

/**
 * The whole CDK app: configuration from context, the one stack, and cdk-nag's AWS Solutions
 * rules as a validation plugin, so every synth (CLI or test) fails on an unacknowledged finding.
 */
export function buildApp(props: AppProps = {}): { app: App; stack: WallcrawlerStack; config: WallcrawlerConfig } {
  const app = new App(props);
  const config = readConfig((key) => app.node.tryGetContext(key));
  const stack = new WallcrawlerStack(app, config.name, config);
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  return { app, stack, config };
}
