import neostandard from 'neostandard'

export default [
  ...neostandard({ ts: true, ignores: ['dist/**', 'packages/*/dist/**', 'coverage/**', '.tap/**', 'node_modules/**'] }),
  // Tests spell out ${env:...} / ${file:...} config references as literal strings.
  { files: ['test/**/*.ts', 'packages/*/test/**/*.ts'], rules: { 'no-template-curly-in-string': 'off' } }
]
