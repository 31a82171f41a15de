import type { StatusVerdict } from '../../lib/delivery/index.js';

/**
 * Candu's answers and what delivery does with each, as ARCHITECTURE.md ("Delivery") states
 * them: one row per status class and edge, read by the policy's classification test and by the
 * delivery test that drives each row through a real `deliver()`.
 */
export const CANDU_STATUS_TABLE: readonly [status: number, verdict: StatusVerdict][] = [
  [200, 'delivered'],
  [202, 'delivered'],
  [204, 'delivered'],
  [299, 'delivered'],
  [301, 'fail'],
  [302, 'fail'],
  [400, 'split'],
  [401, 'refresh-key'],
  [403, 'refresh-key'],
  [404, 'fail'],
  [405, 'fail'],
  [408, 'retry'],
  [409, 'fail'],
  [413, 'split'],
  [422, 'split'],
  [423, 'retry'],
  [429, 'retry'],
  [500, 'retry'],
  [501, 'fail'],
  [502, 'retry'],
  [503, 'retry'],
  [504, 'retry'],
];
