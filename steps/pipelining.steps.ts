// Steps about packets a client sends right behind its CONNECT, in the same write, before any CONNACK
// (MQTT 5 3.1.4: a client need not wait for it): the CONNECT is decided first, then the packets
// behind it are judged as any packet after the CONNACK is (M1).
import { Then, When } from '@cucumber/cucumber';
import { ConformanceFailure } from '../common/errors.ts';
import { within } from '../common/timing.ts';
import { contentTypeProperty, publishBytes } from '../mqtt-client/raw-packets.ts';
import type { RawConnectOutcome } from '../mqtt-client/raw-client.ts';
import type { MqttVersion } from '../rules/catalogue.ts';
import { describeRefusalCode, REFUSAL } from '../rules/codes.ts';
import { describeOutcome } from './refusal-judgement.ts';
import type { ConformanceWorld } from './world.ts';

// M1: a QoS 0 PUBLISH on the client's own topic whose Content Type is given twice (or once, its
// control), written with the CONNECT. Its own topic, so that the property is all that can be wrong.
When(
  'identity {string} connects and in the same write publishes with the Content Type property given {word} over MQTT {version}',
  async function (this: ConformanceWorld, identityId: string, times: string, version: MqttVersion) {
    if (times !== 'once' && times !== 'twice') throw new Error(`"given ${times}": say once or twice`);
    this.version = version;
    const clientId = this.clientId(`pipelined-${times}`);
    const topic = `${this.topicOf(this.registeredName(this.identity(identityId).entry.authenticationName), `pipelined-${times}`)}`;
    const properties = Buffer.concat(times === 'twice' ? [contentTypeProperty('text/plain'), contentTypeProperty('text/plain')] : [contentTypeProperty('text/plain')]);
    await this.connectRaw(identityId, { clientId: Buffer.from(clientId), pipelined: publishBytes(topic, properties, Buffer.from(`given ${times}`)) });
  },
);

function acceptedRaw(world: ConformanceWorld, step: string): Extract<RawConnectOutcome, { accepted: true }> {
  const outcome = world.lastOutcome;
  if (!outcome || !('connection' in outcome || 'message' in outcome)) throw new Error('this step needs a connection written byte by byte');
  const raw = outcome as RawConnectOutcome;
  if (!raw.accepted) throw new ConformanceFailure(`${step}: the connection was not accepted, got ${describeOutcome(world, raw)}`);
  return raw;
}

// MQTT 5 answers a protocol error after the CONNACK with DISCONNECT 0x82 [MQTT-4.13.1-1]; the code is the
// project's reading (M1, inferred): recorded, binding with --strict-codes. That the connection ends is binding.
Then('that connection is ended as a protocol error', async function (this: ConformanceWorld) {
  const step = 'that connection is ended as a protocol error';
  const { connection } = acceptedRaw(this, step);
  const end = await within(connection.ended, 3000);
  const code = REFUSAL.protocolError.reasonCode;
  const expected = `DISCONNECT ${describeRefusalCode('5', REFUSAL.protocolError)}`;
  const observed = end === undefined ? 'still open after 3000 ms' : end.disconnectReasonCode === undefined ? 'closed with no DISCONNECT' : `DISCONNECT ${this.describe(end.disconnectReasonCode)}`;
  const lenient = end !== undefined && end.disconnectReasonCode !== code && !this.target.strictCodes;
  this.observe({ step, expected: `${expected} (inferred for M1${this.target.strictCodes ? '' : ', binding with --strict-codes'})`, observed, ...(lenient ? { lenient: { rules: ['M1'], inferred: `${expected} (inferred for M1)` } } : {}) });
  if (!end) throw new ConformanceFailure(`expected the connection to be ended as a protocol error, it was ${observed}`);
  if (end.disconnectReasonCode !== code && this.target.strictCodes) throw new ConformanceFailure(`expected ${expected}, got ${observed}`);
});

Then('that connection stays open', async function (this: ConformanceWorld) {
  const step = 'that connection stays open';
  const { connection } = acceptedRaw(this, step);
  const end = await within(connection.ended, 500);
  const observed = end === undefined ? 'open 500 ms later' : end.disconnectReasonCode === undefined ? 'closed' : `DISCONNECT ${this.describe(end.disconnectReasonCode)}`;
  this.observe({ step, expected: 'open 500 ms later', observed });
  if (end) throw new ConformanceFailure(`expected the connection to stay open, it was ${observed}`);
});
