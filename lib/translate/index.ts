export { DEFAULT_MAX_EVENT_BYTES } from './event-budget.js';
export { extractMessages } from './extract-messages.js';
export { CAME_FROM_CANDU, cameFromCandu } from './loop-guard.js';
export { flattenAttributes } from './trait-values.js';
export { messageIdOf, translateMessage } from './translate.js';
export * from './translation.js';
