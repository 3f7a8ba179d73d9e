// `npm run asl`: renders each workflow's CDK chain to the ASL file the local engine loads.
import { writeFileSync } from 'node:fs';
import { aslText, DEPROVISION_WORKFLOW, PROVISION_WORKFLOW } from './render';

for (const workflow of [PROVISION_WORKFLOW, DEPROVISION_WORKFLOW]) {
  writeFileSync(new URL(`../${workflow.aslFile}`, import.meta.url), aslText(workflow));
  console.log(`wrote ${workflow.aslFile}`);
}
