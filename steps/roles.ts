// Identities the steps use on their own, beside those a scenario names, and the steps that use them.
// A step is named here by the cucumber expression its module registers (it registers these very
// strings), so that steps/scheduling.ts, matching a scenario's steps against them as cucumber does,
// knows every identity a scenario uses from the step definitions, not from guesses at their wording.
// No cucumber registrations here: the runner imports it, through steps/scheduling.ts, outside a run.
import { OBSERVER } from '../eventgrid/suite-contract.ts';

/** The identity that publishes messages to the scenarios' sessions (here for the step modules). */
export { OBSERVER };

/**
 * Identities that may probe whether another identity's session has expired (the first that is not
 * its owner): the observer, whose sessions no scenario counts.
 */
export const EXPIRY_PROBERS = [OBSERVER, 'gamma'];

/**
 * The steps in which the observer publishes to a session: those that say so, and those that check
 * what a session receives by publishing to it (steps/messages.steps.ts, steps/limits.steps.ts).
 */
export const OBSERVER_PUBLISHES = {
  message: 'a QoS 1 message {string} is published to session {string}',
  messages: '{int} QoS 1 messages are published to session {string}',
  messagesOfSize: '{int} QoS 1 messages of {int} KiB are published to session {string}',
  receivesToo: 'session {string} receives QoS 1 messages too',
  stillReceives: 'identity {string} is still connected on session {string} and still receives QoS 1 messages',
  doesNotReceive: 'session {string} does not receive {string}',
  largeThenSmall: 'a QoS 1 message of {int} bytes and then one of {int} bytes are published to session {string}',
  toThatConnection: '{int} QoS 1 messages are published to that connection',
  toSharedTopic: '{int} QoS 1 messages are published to the shared topic of identity {string}',
  retainedToSharedTopic: 'a retained message is published to the shared topic of identity {string}',
} as const;

/** The step after which EXPIRY_PROBERS ask for a session's name until it is free (steps/connect.steps.ts). */
export const EXPIRES = 'session {string} expires';

/** Every step that uses identities its text does not name, with those identities. */
export const OWN_IDENTITIES: readonly { expression: string; identities: readonly string[] }[] = [
  ...Object.values(OBSERVER_PUBLISHES).map((expression) => ({ expression, identities: [OBSERVER] })),
  { expression: EXPIRES, identities: EXPIRY_PROBERS },
];
