import neostandard from 'neostandard'

export default [
  ...neostandard({ ts: true, ignores: ['dist/**', 'coverage/**', '.tap/**', 'node_modules/**'] }),
  // Tests spell out ${env:...} / ${file:...} config references as literal strings.
  { files: ['test/**/*.ts'], rules: { 'no-template-curly-in-string': 'off' } }
]
