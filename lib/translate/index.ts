export * from './candu-event.js';
export { DEFAULT_MAX_EVENT_BYTES } from './event-budget.js';
export { extractMessages } from './extract-messages.js';
export {
  applyTraitValues,
  flattenAttributes,
  isUnsafeKey,
  MAX_ATTRIBUTE_DEPTH,
  type PolicedAttributes,
  passthroughAttributes,
} from './trait-values.js';
export { messageIdOf, translateMessage } from './translate.js';
