export * from './candu-event.js';
export { extractMessages } from './extract-messages.js';
export {
  applyTraitValues,
  flattenAttributes,
  isUnsafeKey,
  MAX_ATTRIBUTE_DEPTH,
  mergeAttributes,
  passthroughAttributes,
} from './trait-values.js';
export { messageIdOf, translateMessage } from './translate.js';
