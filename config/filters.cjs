// Read by serverless.yml: FILTERS is config/filters.json as one line of JSON (one-line-json.cjs).
module.exports = require('./one-line-json.cjs')('filters.json');
