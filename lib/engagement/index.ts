export {
  createEngagementHandler,
  ENGAGEMENT_ROUTE,
  type EngagementDeps,
  type EngagementHandler,
  type EngagementRequest,
} from './engagement-handler.js';
export { checkPathToken } from './path-token.js';
export { engagementEventsOf, engagementIdOf, type TrackCallTranslation, trackCallOf } from './track-calls.js';
