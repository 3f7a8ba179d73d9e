import { performance } from 'node:perf_hooks';
import { StateMachine, type StateMachineDefinition } from 'aws-local-stepfunctions';
import { loadAsl, PROVISION } from '../statemachine/workflows';
import { type Summary, summarise } from './stats';

/**
 * What building the Provision state machine costs, with the options local/engine.ts passes on every
 * run (asl-validator on) and with validation off: the part of "start() to ExecutionStarted" that
 * does not touch the database.
 */
export function stateMachineConstruction(samples = 5): { validated: Summary; unvalidated: Summary } {
  const asl = loadAsl(PROVISION) as unknown as StateMachineDefinition;
  const time = (options: ConstructorParameters<typeof StateMachine>[1]) => {
    const ms: number[] = [];
    for (let i = 0; i < samples; i++) {
      const t0 = performance.now();
      new StateMachine(asl, options);
      ms.push(performance.now() - t0);
    }
    return summarise(ms);
  };
  return {
    validated: time({ validationOptions: { checkArn: false } }),
    unvalidated: time({ validationOptions: { noValidate: true } }),
  };
}
