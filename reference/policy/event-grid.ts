// Production: the rules as an Event Grid namespace applies them, put together from the check lists and
// pieces each module of the policy declares.
import { EVENT_GRID_GRANTS, PUBLISH_ACCESS_CHECKS, SUBSCRIBE_ACCESS_CHECKS, WILL_ACCESS_CHECKS } from './access.ts';
import type { Behaviour } from './behaviour.ts';
import { CONNECT_CHECKS, EVENT_GRID_SESSIONS } from './connect.ts';
import { CERTIFICATE_CHECKS, EVENT_GRID_IDENTITY } from './identity.ts';
import { EVENT_GRID_LIMITS } from './limits.ts';
import { CONNECT_WILL_CHECKS, PACKET_SIZE_CHECKS, PUBLISH_PACKET_CHECKS, PUBLISH_QUOTA_CHECKS, SUBSCRIBE_QUOTA_CHECKS, SUBSCRIBE_TOPIC_CHECKS } from './packet-limits.ts';
import { PACKET_CHECKS } from './packet-validation.ts';
import { EVENT_GRID_TOKENS, TOKEN_CHECKS } from './token.ts';
import { EVENT_GRID_WEBHOOK, WEBHOOK_CHECKS } from './webhook.ts';
import { ANSWER_WITH_CONNACK } from './refusal.ts';
import { EVENT_GRID_SHARED, SHARED_PACKET_CHECKS } from './shared-subscriptions.ts';
import { EVENT_GRID_FEATURES, SUBSCRIBE_FEATURE_CHECKS, UNSUPPORTED_FEATURE_CHECKS } from './unsupported.ts';

export const EVENT_GRID: Behaviour = {
  // The protocol checks (M1), then what MQTT 5 offers and Event Grid does not (M2, M5), and what
  // MQTT 3.1.1 is not offered (M6: shared subscriptions), and Authentication Data past its size (L22).
  packetChecks: [...PACKET_CHECKS, ...UNSUPPORTED_FEATURE_CHECKS, ...SHARED_PACKET_CHECKS, ...PACKET_SIZE_CHECKS],
  certificateChecks: CERTIFICATE_CHECKS,
  tokenChecks: TOKEN_CHECKS,
  webhookChecks: WEBHOOK_CHECKS,
  // Last, once the session could be had: the Will, judged as the PUBLISH it would become, in the order
  // a PUBLISH is: first whether the namespace serves it at all (L9), then who may publish there (P2, P3).
  connectChecks: [...CONNECT_CHECKS, ...CONNECT_WILL_CHECKS, ...WILL_ACCESS_CHECKS],
  // First whether the namespace takes the SUBSCRIBE at all (M5: no User Properties). Then what the packet is: a filter or topic past 256 bytes or 15 levels (L11), a QoS 2 PUBLISH (L9)
  // is not one the namespace serves, whoever sends it, and is answered as such. Then who may use the
  // topic (P2, P3): a filter the client may not hold is refused as not authorized and takes no place in
  // its quota. Last the session's quota (L10), which only an authorized, storable filter can exceed, so
  // a client is never told "quota exceeded" for a filter it could not have held anyway.
  subscribeChecks: [...SUBSCRIBE_FEATURE_CHECKS, ...SUBSCRIBE_TOPIC_CHECKS, ...SUBSCRIBE_ACCESS_CHECKS, ...SUBSCRIBE_QUOTA_CHECKS],
  // A PUBLISH likewise: what it is (L9, L11), who may publish there (P2, P3), then the retained
  // message's size (L18), a quota only an authorized PUBLISH can exceed.
  publishChecks: [...PUBLISH_PACKET_CHECKS, ...PUBLISH_ACCESS_CHECKS, ...PUBLISH_QUOTA_CHECKS],
  ...EVENT_GRID_IDENTITY,
  ...EVENT_GRID_TOKENS,
  ...EVENT_GRID_WEBHOOK,
  ...EVENT_GRID_GRANTS,
  ...EVENT_GRID_SESSIONS,
  ...EVENT_GRID_LIMITS,
  ...EVENT_GRID_FEATURES,
  ...EVENT_GRID_SHARED,
  answerRefusal: ANSWER_WITH_CONNACK,
};
