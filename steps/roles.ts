// Identities the steps use on their own, beside those a scenario names.
import { OBSERVER } from '../eventgrid/suite-contract.ts';

/** The identity that publishes messages to the scenarios' sessions (here for the step modules). */
export { OBSERVER };

/**
 * Identities that may probe whether another identity's session has expired (the first that is not
 * its owner): the observer, whose sessions no scenario counts.
 */
export const EXPIRY_PROBERS = [OBSERVER, 'gamma'];
