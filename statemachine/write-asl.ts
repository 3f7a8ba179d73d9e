// `npm run asl`: renders each workflow's CDK chain to the ASL file the local engine loads.
import '../local/bin/node-version.mjs';
import { writeFileSync } from 'node:fs';
import { ALL_WORKFLOWS, aslText } from './render';

for (const workflow of ALL_WORKFLOWS) {
  writeFileSync(new URL(`../${workflow.aslFile}`, import.meta.url), aslText(workflow));
  console.log(`wrote ${workflow.aslFile}`);
}
