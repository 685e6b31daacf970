// Names, each rule written once. Routegate's own names (workspaces, endpoints and callers in the
// config; what an invocation URL or a request's `model` may name) are plain: a letter or digit,
// then letters, digits, `_`, `.`, `-`, at most 63 in all, so they are safe in URLs, log lines,
// metric labels and error messages. Databricks names serving endpoints by its own rule
// (docs/databricks-protocol.md §8); an endpoint routegate creates must pass both.
//
// The Databricks emulator (packages/databricks-emulator) keeps its own copy of Databricks' rule:
// it is an optional development package the gateway loads only for `demo` and `emulator`, so
// neither side can import the other. test/config/names.test.ts checks that the copies agree.

/** Routegate's name rule, as JSON Schema `pattern` source (config/schema.ts). */
export const NAME_PATTERN = '^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$'
const NAME = new RegExp(NAME_PATTERN)

/** Databricks' rule for serving endpoint names: 1-63 letters, digits, dashes and underscores. */
export const SERVING_ENDPOINT_NAME = /^[A-Za-z0-9_-]{1,63}$/

/** Whether `s` is a plain routegate name (and so may be echoed in a message or a log line). */
export function isName (s: string): boolean {
  return NAME.test(s)
}

/** Whether `routegate endpoints create` may give an endpoint this name: Databricks takes it and the config can name it. */
export function isCreatableEndpointName (s: string): boolean {
  return SERVING_ENDPOINT_NAME.test(s) && NAME.test(s)
}
