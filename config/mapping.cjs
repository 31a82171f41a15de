// Read by serverless.yml: MAPPING is config/mapping.json as one line of JSON (one-line-json.cjs).
module.exports = require('./one-line-json.cjs')('mapping.json');
