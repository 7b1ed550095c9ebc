// Takeovers across the instances of a namespace kept in Redis (ports/takeovers.ts): the ask and the
// answer travel on aedes' message fan-out (mqemitter-redis), each addressed to one instance's own
// topic. The answer must ride the fan-out: the instance answering has handled every message fanned out
// before it answers, and Redis delivers one subscriber's messages in order, so the instance that asked
// has handled them too by the time the answer comes, before its new connection subscribes. A message the
// older connection was sent is then in the session's queue with its packet identifier (resent with
// DUP=1), never delivered live again to the newer.
// The same ask, as a check, only asks whether a connection still holds its session (before another
// identity is refused it, S6): nothing is ended.
import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import type MQEmitterRedis from 'mqemitter-redis';
import type { TakeoverAnswer, TakeoverAnswers, Takeovers } from '../../ports/takeovers.ts';

/** How long an instance taking a session over waits for the other's answer before it goes on without. */
export const TAKEOVER_ANSWER_MS = 2000;

type Fanout = ReturnType<typeof MQEmitterRedis>;

const askTopic = (instance: string) => `$SYS/${instance}/takeover/ask`;
const answerTopic = (instance: string) => `$SYS/${instance}/takeover/answer`;

interface Ask {
  id: string;
  from: string;
  session: string;
  connection: number;
  /** 'take': end the connection (a takeover); 'check': only say whether it still holds the session. */
  kind: 'take' | 'check';
}

/** An answer as it travels: a takeover's, or a check's `holds`. */
type Answer = { id: string } & (TakeoverAnswer | { holds: boolean });

const decode = <T>(payload: unknown): T => JSON.parse(String(payload)) as T;

/** Subscribes `listener` to a topic of the fan-out; resolves once Redis has the subscription. */
function listen(mq: Fanout, topic: string, listener: (payload: unknown) => void): Promise<void> {
  return new Promise((resolve) =>
    mq.on(
      topic,
      (packet, done) => {
        done();
        listener(packet.payload);
      },
      () => resolve(),
    ),
  );
}

export class RedisTakeovers implements Takeovers {
  /** Asks of this instance waiting for their answer, by id. */
  private readonly waiting = new Map<string, (answer: Answer | undefined) => void>();

  private constructor(
    private readonly mq: Fanout,
    /** A connection for PUBSUB NUMSUB (not the fan-out's subscriber). */
    private readonly redis: Redis,
    private readonly instance: string,
    private readonly answerMs: number,
    /** The Redis channel a fan-out topic goes on (the namespace's channels carry its fan-out name). */
    private readonly channelOf: (topic: string) => string,
  ) {}

  static async start(
    mq: Fanout,
    redis: Redis,
    instance: string,
    { answerMs = TAKEOVER_ANSWER_MS, channelOf = (topic: string) => topic }: { answerMs?: number; channelOf?: (topic: string) => string } = {},
  ): Promise<RedisTakeovers> {
    const takeovers = new RedisTakeovers(mq, redis, instance, answerMs, channelOf);
    await listen(mq, answerTopic(instance), (payload) => {
      const answer = decode<Answer>(payload);
      takeovers.waiting.get(answer.id)?.(answer);
    });
    return takeovers;
  }

  async ask(instance: string, sessionName: string, connectionId: number): Promise<TakeoverAnswer | undefined> {
    const answer = await this.request(instance, sessionName, connectionId, 'take');
    if (!answer || !('ending' in answer)) return undefined;
    return { ending: answer.ending, ...(answer.nextPacketId ? { nextPacketId: answer.nextPacketId } : {}) };
  }

  async stillHolds(instance: string, sessionName: string, connectionId: number): Promise<boolean | undefined> {
    const answer = await this.request(instance, sessionName, connectionId, 'check');
    return answer && 'holds' in answer ? answer.holds : undefined;
  }

  private async request(instance: string, sessionName: string, connectionId: number, kind: Ask['kind']): Promise<Answer | undefined> {
    const id = randomUUID();
    let timer: NodeJS.Timeout | undefined;
    const answered = new Promise<Answer | undefined>((resolve) => {
      this.waiting.set(id, resolve);
      timer = setTimeout(() => resolve(undefined), this.answerMs);
      const ask: Ask = { id, from: this.instance, session: sessionName, connection: connectionId, kind };
      this.mq.emit({ topic: askTopic(instance), payload: Buffer.from(JSON.stringify(ask)) }, (error?: Error) => error && resolve(undefined));
      // An instance that is gone (kill -9) no longer listens: nothing will answer, so nothing is awaited.
      this.redis.call('PUBSUB', 'NUMSUB', this.channelOf(askTopic(instance))).then(
        (reply) => (reply as [string, number])[1] === 0 && resolve(undefined),
        () => {},
      );
    });
    try {
      return await answered;
    } finally {
      clearTimeout(timer);
      this.waiting.delete(id);
    }
  }

  serve(answers: TakeoverAnswers): Promise<void> {
    return listen(this.mq, askTopic(this.instance), (payload) => {
      const ask = decode<Ask>(payload);
      const reply: Promise<TakeoverAnswer | { holds: boolean }> =
        ask.kind === 'check'
          ? answers.stillHolds(ask.session, ask.connection).then((holds) => ({ holds }))
          : answers.takeOver(ask.session, ask.connection, ask.from);
      // An answer that could not be made leaves the asker to its bounded wait, as a silent instance does.
      reply.then(
        (answer) => this.mq.emit({ topic: answerTopic(ask.from), payload: Buffer.from(JSON.stringify({ id: ask.id, ...answer })) }),
        () => {},
      );
    });
  }
}
