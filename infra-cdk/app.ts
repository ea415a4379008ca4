// Entry point of `cdk synth|deploy|destroy` (see cdk.json); settings come from context (`-c key=value`).
import { buildApp } from "./lib/build-app.ts";

buildApp().app.synth();
