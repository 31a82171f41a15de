export { findId, type IdLookup } from './identity.js';
export { renameKeys } from './rename.js';
export {
  type DotPath,
  type Mapping,
  type MappingResult,
  parseMapping,
  type Renames,
} from './schema.js';
