export * from './iso-timestamp.js';
export * from './messages.js';
