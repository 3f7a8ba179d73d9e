import { describe, expect, it } from 'vitest';
import * as z from 'zod';
import { StepOutputSchemas } from '../../shared/provision/schemas';
import { buildNow, lazySchema, lazySchemas } from '../../shared/validation';
import { WORKFLOWS } from '../../shared/workflows';

describe('schemas built at first use', () => {
  it('lazySchema builds once, at the first parse or unwrap (or buildNow), and parses as the schema would', () => {
    let builds = 0;
    const schema = lazySchema(() => {
      builds++;
      return z.object({ n: z.number().int() }).strict();
    });
    expect(builds).toBe(0);
    expect(schema.parse({ n: 1 })).toEqual({ n: 1 });
    expect(schema.safeParse({ n: 1, extra: true }).success).toBe(false);
    expect(schema.unwrap().shape.n).toBeDefined();
    buildNow(schema);
    expect(builds).toBe(1);
    expect(schema.unwrap()).toBe(schema.unwrap());

    let later = 0;
    buildNow(
      lazySchema(() => {
        later++;
        return z.string();
      }),
    );
    expect(later).toBe(1);
    buildNow(z.string()); // an eager schema: nothing to do
  });

  it('lazySchemas builds each entry when it is first read, once, and only that one', () => {
    const built: string[] = [];
    const counted = <T>(name: string, schema: T): T => {
      built.push(name);
      return schema;
    };
    const record = lazySchemas({
      a: () => counted('a', z.string()),
      b: () => counted('b', z.number()),
    });
    expect(built).toEqual([]);
    expect(Object.keys(record)).toEqual(['a', 'b']);
    expect(record.a.parse('x')).toBe('x');
    expect(record.a).toBe(record.a);
    expect(built).toEqual(['a']);
    expect(Object.isFrozen(record)).toBe(true);
  });

  it("a step's definition hands out its own output schema, the same one each time", () => {
    const verify = WORKFLOWS.Provision.steps.find((s) => s.state === 'Verify');
    expect(verify?.output()).toBe(StepOutputSchemas.Verify);
    expect(verify?.output()).toBe(verify?.output());
  });
});
