// The refusal judgement on its own: documented codes bind, inferred ones pass leniently (marked) unless
// --strict-codes makes them bind, whatever packet carries the refusal.
import { describe, expect, it } from 'vitest';
import { ConformanceFailure } from '../common/errors.ts';
import type { MqttVersion } from '../rules/catalogue.ts';
import { describeCode } from '../rules/codes.ts';
import type { Observation } from '../report/scenarios.ts';
import { disconnectAnswer, judgeCode, judgeRefusal, subackAnswer, type Answer, type CodeExpectation } from './refusal-judgement.ts';
import type { ConformanceWorld } from './world.ts';

const notAuthorized = (basis: CodeExpectation['basis']): CodeExpectation[] => [{ code: 'notAuthorized', basis, rule: 'S6' }];
const refusedWith = (code: number | undefined): Answer => ({ packet: 'CONNACK', refused: true, outcome: 'a refusal', code, observed: `refused: ${code}` });
const v5 = { version: '5' as MqttVersion, strict: false };

describe('the code judgement', () => {
  it('binds a documented code, strict or not', () => {
    expect(judgeCode(notAuthorized('documented'), refusedWith(0x87), v5)).toEqual({ expected: 'CONNACK 0x87 Not authorized (documented for S6)', failed: false });
    expect(judgeCode(notAuthorized('documented'), refusedWith(0x86), v5)).toMatchObject({ failed: true });
  });

  it('passes a different inferred code on the lenient reading, marked, and fails it when strict', () => {
    const lenient = judgeCode(notAuthorized('inferred'), refusedWith(0x86), v5);
    expect(lenient).toEqual({
      expected: 'a refusal (the code is recorded: the project infers 0x87 Not authorized (inferred for S6))',
      lenient: { rules: ['S6'], inferred: '0x87 Not authorized (inferred for S6)' },
      failed: false,
    });
    expect(judgeCode(notAuthorized('inferred'), refusedWith(0x87), v5)).not.toHaveProperty('lenient');
    const strict = judgeCode(notAuthorized('inferred'), refusedWith(0x86), { ...v5, strict: true });
    expect(strict).toEqual({ expected: 'CONNACK 0x87 Not authorized (inferred for S6), binding with --strict-codes', failed: true });
  });

  it('fails an answer that is no refusal at all, whatever the codes', () => {
    expect(judgeCode(notAuthorized('inferred'), { ...refusedWith(undefined), refused: false }, v5)).toMatchObject({ failed: true });
  });

  it('takes a connection closed over 3.1.1 as the code-less refusal the catalogue expects', () => {
    const qos2: CodeExpectation[] = [{ code: 'qosNotSupported', basis: 'inferred', rule: 'L9' }];
    const closed: Answer = { packet: 'DISCONNECT', refused: true, outcome: 'the connection ended', code: undefined, observed: 'closed after 2 ms' };
    expect(judgeCode(qos2, closed, { version: '3.1.1', strict: true })).toMatchObject({ failed: false });
    // Over MQTT 5 a close without the DISCONNECT is a refusal with another code: lenient, or failed when strict.
    expect(judgeCode(qos2, closed, v5)).toMatchObject({ failed: false, lenient: { rules: ['L9'] } });
    expect(judgeCode(qos2, closed, { ...v5, strict: true })).toMatchObject({ failed: true });
  });
});

/** The little of a world the judgement reads: the scenario's rules, version and --strict-codes, and what it records. */
function world(rules: string[], strictCodes: boolean) {
  const observations: Observation[] = [];
  const fake = { rules, version: '5', target: { strictCodes }, observe: (o: Observation) => observations.push(o), describe: (code: number) => describeCode('5', code) };
  return { world: fake as unknown as ConformanceWorld, observations };
}

describe('a SUBACK refusal', () => {
  it('is judged against the SUBACK code of the scenario\'s rule, as a CONNACK refusal is', () => {
    const lenient = world(['P2'], false);
    judgeRefusal(lenient.world, 'refused', subackAnswer(lenient.world, 0x80), { code: 'subscribeNotAuthorized', subject: 'a/b' });
    expect(lenient.observations).toEqual([
      {
        step: 'refused',
        expected: 'a/b: a SUBACK failure code (the code is recorded: the project infers SUBACK 0x87 Not authorized (inferred for P2))',
        observed: 'SUBACK 0x80 Unspecified error',
        lenient: { rules: ['P2'], inferred: 'SUBACK 0x87 Not authorized (inferred for P2)' },
      },
    ]);
    const strict = world(['P2'], true);
    const judgeStrictly = () => judgeRefusal(strict.world, 'refused', subackAnswer(strict.world, 0x80), { code: 'subscribeNotAuthorized' });
    expect(judgeStrictly).toThrow(ConformanceFailure);
    expect(judgeStrictly).toThrow('expected SUBACK 0x87 Not authorized (inferred for P2), binding with --strict-codes, got SUBACK 0x80 Unspecified error');
    expect(strict.observations[0]).toMatchObject({ observed: 'SUBACK 0x80 Unspecified error' });
  });

  it('fails a granted filter, and a DISCONNECT that never came', () => {
    const { world: w } = world(['P2', 'L9'], false);
    expect(() => judgeRefusal(w, 'refused', subackAnswer(w, 1), { code: 'subscribeNotAuthorized' })).toThrow(/got granted QoS 1/);
    expect(() => judgeRefusal(w, 'ends', disconnectAnswer(w, undefined, 3000), { code: 'qosNotSupported' })).toThrow(/got still connected after 3000 ms/);
  });

  it('is a suite bug when no rule of the scenario expects the code the step asserts', () => {
    const { world: w } = world(['S6'], false);
    expect(() => judgeRefusal(w, 'refused', subackAnswer(w, 0x87), { code: 'subscribeNotAuthorized' })).toThrow(/no rule of this scenario \(S6\) expects/);
  });
});
