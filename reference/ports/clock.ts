// The time, for session expiry, life cycle events and certificate validity: injected, so that tests
// turn it by hand and need no sleeping.

/** Milliseconds since the epoch. */
export type Clock = () => number;
