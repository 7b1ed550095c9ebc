// Identities the steps use on their own, beside those a scenario names.

/**
 * Identities that may probe whether another identity's session has expired (the first that is not
 * its owner): the observer, whose sessions no scenario counts.
 */
export const EXPIRY_PROBERS = ['observer', 'gamma'];
/** The identity that publishes messages to the scenarios' sessions. */
export const OBSERVER = 'observer';
