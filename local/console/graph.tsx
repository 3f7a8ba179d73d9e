import type { Execution, Step } from './api';
import { formatDuration, plural } from './ui';

/**
 * An execution's steps drawn as its state machine: the task states top to bottom in the order the
 * API gives them (shared/workflows.ts), from Start to the success end; every task catches into
 * Cleanup, which ends in the Fail state. Each node is coloured by its status and says it in words,
 * with its time and attempts. The API's step model is all it needs, for any workflow.
 */

const NODE_W = 280;
const NODE_H = 54;
const GAP = 30;
const LEFT = 16;
const TOP = 48;
const RAIL_X = LEFT + NODE_W + 32;
const SIDE_X = LEFT + NODE_W + 112;
const END_W = 132;
const END_H = 30;

/** What each step status means; a key per status the API has (the type checker sees to it). */
export const STEP_STATUS_MEANING: Readonly<Record<Step['status'], string>> = {
  pending: 'not reached yet',
  running: 'running now',
  retrying: 'an attempt failed; it is tried again',
  succeeded: 'done',
  failed: 'failed; the run cleans up after it',
  skipped: 'not run: not needed for this request, or after a failure',
  cancelled: 'stopped by a cancel',
};

/** The catch-all branch's task: the last step the API lists, when it is the Cleanup state. */
const CLEANUP = 'Cleanup';

function stepLine(step: Step): string {
  const parts: string[] = [step.status];
  if (step.status === 'failed' && step.error) parts.push(step.error.error);
  else if (step.durationMs !== undefined) parts.push(formatDuration(step.durationMs));
  if (step.attempts > 1 || step.status === 'retrying') parts.push(plural(step.attempts, 'attempt'));
  return clip(parts.join(' · '), 35);
}

function clip(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

function describe(step: Step): string {
  const parts = [`${step.name}: ${step.status}`];
  if (step.attempts > 0) parts.push(`after ${plural(step.attempts, 'attempt')}`);
  if (step.durationMs !== undefined) parts.push(`in ${formatDuration(step.durationMs)}`);
  if (step.error) parts.push(`— ${step.error.error}: ${step.error.cause}`);
  return parts.join(' ');
}

function StatusIcon({ status, x, y }: { status: Step['status']; x: number; y: number }) {
  switch (status) {
    case 'succeeded':
      return (
        <g class="icon">
          <circle cx={x} cy={y} r={9} />
          <path d={`M${x - 4} ${y} l3 3 l5 -6`} />
        </g>
      );
    case 'failed':
      return (
        <g class="icon">
          <circle cx={x} cy={y} r={9} />
          <path d={`M${x - 3.5} ${y - 3.5} l7 7 M${x + 3.5} ${y - 3.5} l-7 7`} />
        </g>
      );
    case 'running':
    case 'retrying':
      return (
        <g class="icon spinner" style={{ transformOrigin: `${x}px ${y}px` }}>
          <circle cx={x} cy={y} r={8} class="track" />
          <path d={`M${x} ${y - 8} a8 8 0 0 1 8 8`} />
        </g>
      );
    case 'cancelled':
      return (
        <g class="icon">
          <circle cx={x} cy={y} r={9} />
          <rect x={x - 3.5} y={y - 3.5} width={7} height={7} />
        </g>
      );
    case 'skipped':
      return (
        <g class="icon">
          <circle cx={x} cy={y} r={9} />
          <path d={`M${x - 4} ${y} h8`} />
        </g>
      );
    default:
      return (
        <g class="icon">
          <circle cx={x} cy={y} r={9} />
        </g>
      );
  }
}

function Node({ step, x, y }: { step: Step; x: number; y: number }) {
  return (
    <g class="node" data-testid={`step-node-${step.name}`} data-status={step.status}>
      <title>{describe(step)}</title>
      <rect x={x} y={y} width={NODE_W} height={NODE_H} rx={8} />
      <StatusIcon status={step.status} x={x + 22} y={y + NODE_H / 2} />
      <text x={x + 42} y={y + 22} class="node-name">
        {step.name}
      </text>
      <text x={x + 42} y={y + 40} class="node-status">
        {stepLine(step)}
      </text>
    </g>
  );
}

function End({
  x,
  y,
  label,
  state,
}: {
  x: number;
  y: number;
  label: string;
  state: 'reached' | 'idle' | 'failed';
}) {
  return (
    <g class={`end end-${state}`} data-testid={`end-${label}`}>
      <rect x={x} y={y} width={END_W} height={END_H} rx={END_H / 2} />
      <text x={x + END_W / 2} y={y + END_H / 2 + 4} text-anchor="middle">
        {label}
      </text>
    </g>
  );
}

function Arrow({ d, kind = 'flow' }: { d: string; kind?: 'flow' | 'catch' | 'caught' }) {
  return <path class={`edge edge-${kind}`} d={d} marker-end={`url(#arrow-${kind})`} />;
}

export function StepGraph({ execution }: { execution: Execution }) {
  const last = execution.steps.at(-1);
  const cleanup = last?.name === CLEANUP ? last : undefined;
  const main = cleanup ? execution.steps.slice(0, -1) : execution.steps;
  const mid = LEFT + NODE_W / 2;
  const yOf = (i: number) => TOP + i * (NODE_H + GAP);
  const endY = yOf(main.length) - GAP + 24;
  const failedAt = main.findIndex((s) => s.status === 'failed' || s.status === 'cancelled');
  const caught = cleanup !== undefined && cleanup.status !== 'pending' && cleanup.status !== 'skipped';
  // Cleanup sits beside the step that failed into it, else beside the middle of the flow.
  const cleanupRow = failedAt >= 0 ? failedAt : Math.max(0, Math.floor((main.length - 1) / 2));
  const cleanupY = yOf(cleanupRow);
  const failY = cleanupY + NODE_H + GAP;
  const width = cleanup ? SIDE_X + NODE_W + LEFT : LEFT * 2 + NODE_W;
  const height = Math.max(endY + END_H, cleanup ? failY + END_H : 0) + 16;
  const succeeded = execution.status === 'SUCCEEDED';
  const ended = execution.status !== 'RUNNING';

  return (
    <svg
      class="graph"
      width={width}
      height={height}
      viewBox={`0 0 ${width} ${height}`}
      role="img"
      aria-label={`The steps of ${execution.name} as its state machine: ${execution.steps.map(describe).join('; ')}`}
      data-testid="step-graph"
    >
      <title>{`The steps of ${execution.name}`}</title>
      <defs>
        {(['flow', 'catch', 'caught'] as const).map((kind) => (
          <marker
            key={kind}
            id={`arrow-${kind}`}
            class={`marker-${kind}`}
            viewBox="0 0 10 10"
            refX={9}
            refY={5}
            markerWidth={7}
            markerHeight={7}
            orient="auto-start-reverse"
          >
            <path d="M0 0 L10 5 L0 10 z" />
          </marker>
        ))}
      </defs>
      <g class="start">
        <circle cx={mid} cy={16} r={8} />
        <text x={mid + 16} y={20}>
          Start
        </text>
      </g>
      <Arrow d={`M${mid} 24 V${TOP - 2}`} />
      {main.map((step, i) => (
        <g key={`edge-${step.name}`}>
          {i < main.length - 1 ? (
            <Arrow d={`M${mid} ${yOf(i) + NODE_H} V${yOf(i + 1) - 2}`} />
          ) : (
            <Arrow d={`M${mid} ${yOf(i) + NODE_H} V${endY - 2}`} />
          )}
          {cleanup && i !== failedAt ? (
            <path class="edge edge-catch" d={`M${LEFT + NODE_W} ${yOf(i) + NODE_H / 2} H${RAIL_X}`} />
          ) : null}
        </g>
      ))}
      {cleanup && main.length > 0 ? (
        <g>
          <path
            class="edge edge-catch"
            d={`M${RAIL_X} ${yOf(0) + NODE_H / 2} V${yOf(main.length - 1) + NODE_H / 2}`}
          />
          {failedAt >= 0 ? (
            <Arrow kind="caught" d={`M${LEFT + NODE_W} ${cleanupY + NODE_H / 2} H${SIDE_X - 2}`} />
          ) : (
            <Arrow kind="catch" d={`M${RAIL_X} ${cleanupY + NODE_H / 2} H${SIDE_X - 2}`} />
          )}
          <text class="edge-label" x={RAIL_X + 6} y={cleanupY + NODE_H / 2 - 6}>
            on error
          </text>
          <Arrow
            kind={caught ? 'caught' : 'catch'}
            d={`M${SIDE_X + NODE_W / 2} ${cleanupY + NODE_H} V${failY - 2}`}
          />
        </g>
      ) : null}
      {main.map((step, i) => (
        <Node key={step.name} step={step} x={LEFT} y={yOf(i)} />
      ))}
      {cleanup ? <Node step={cleanup} x={SIDE_X} y={cleanupY} /> : null}
      <End x={mid - END_W / 2} y={endY} label="Succeeded" state={succeeded ? 'reached' : 'idle'} />
      {cleanup ? (
        <End
          x={SIDE_X + NODE_W / 2 - END_W / 2}
          y={failY}
          label="Failed"
          state={ended && !succeeded ? 'failed' : 'idle'}
        />
      ) : null}
    </svg>
  );
}
