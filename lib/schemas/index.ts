export * from './candu-event.js';
export * from './iso-timestamp.js';
export * from './messages.js';
