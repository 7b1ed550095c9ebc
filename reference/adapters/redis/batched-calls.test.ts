import { describe, expect, it } from 'vitest';
import { BatchedCalls } from './batched-calls.ts';

/** A send that records each command's calls and answers each call with twice its number, once let go. */
function recording() {
  const sends: number[][] = [];
  let answer = (): void => {};
  const answered = new Promise<void>((resolve) => (answer = resolve));
  const send = (calls: number[]) => {
    sends.push(calls);
    return answered.then(() => calls.map((call) => call * 2));
  };
  return { sends, send, answer };
}

describe('BatchedCalls', () => {
  it('sends the calls of one turn as one command, in order, and answers each call with its own answer', async () => {
    const { sends, send, answer } = recording();
    const batch = new BatchedCalls(send);
    const answers = [1, 2, 3].map((call) => batch.call(call));
    expect(sends).toEqual([]);
    await batch.sent();
    expect(sends).toEqual([[1, 2, 3]]);
    const later = batch.call(4);
    await batch.sent();
    expect(sends).toEqual([[1, 2, 3], [4]]);
    answer();
    expect(await Promise.all([...answers, later])).toEqual([2, 4, 6, 8]);
  });

  it('with setImmediate, gathers the calls of every callback of the turn, and is sent before its callers go on (a fan-out after its queueing)', async () => {
    const order: string[] = [];
    const batch = new BatchedCalls((calls: string[]) => {
      order.push(`sent ${calls.join(', ')}`);
      return Promise.resolve(calls);
    }, setImmediate);
    // As aedes publishes each message: in a callback of its own.
    const publish = (message: string) =>
      new Promise<void>((resolve) =>
        setImmediate(async () => {
          void batch.call(message);
          await batch.sent();
          order.push(`published ${message}`);
          resolve();
        }),
      );
    await Promise.all([publish('a'), publish('b')]);
    expect(order).toEqual(['sent a, b', 'published a', 'published b']);
  });

  it('fails every call of a command that failed, and only those', async () => {
    let fail = true;
    const batch = new BatchedCalls((calls: number[]) => (fail ? Promise.reject(new Error('OOM')) : Promise.resolve(calls)));
    const failed = [batch.call(1), batch.call(2)].map((answer) => answer.catch((error: Error) => error.message));
    await batch.sent();
    fail = false;
    const next = batch.call(3);
    expect(await Promise.all([...failed, next])).toEqual(['OOM', 'OOM', 3]);
  });

  it('starts a new command past 256 calls', async () => {
    const { sends, send, answer } = recording();
    const batch = new BatchedCalls(send);
    const answers = Array.from({ length: 300 }, (_, index) => batch.call(index));
    await batch.sent();
    expect(sends.map((calls) => calls.length)).toEqual([256, 44]);
    answer();
    expect((await Promise.all(answers)).at(-1)).toBe(598);
  });
});
