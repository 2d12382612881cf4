// ESLint for src/ and test/ (npm run lint), with type information: a promise that nobody awaits or
// catches is how a lost leadership or a failed release would go unnoticed. Formatting is Prettier's
// (its options are package.json's "prettier").
import js from '@eslint/js'
import tseslint from 'typescript-eslint'

const root = new URL('..', import.meta.url).pathname

export default tseslint.config(
  {ignores: ['dist/**', 'release/**', '.cache/**', 'node_modules/**', 'test/.data/**', '**/*.cjs', '**/*.js']},
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {parserOptions: {projectService: true, tsconfigRootDir: root}},
    rules: {
      // An async function without an await is harmless, and often one that keeps an interface's shape.
      '@typescript-eslint/require-await': 'off',
      '@typescript-eslint/no-unused-vars': ['error', {argsIgnorePattern: '^_', varsIgnorePattern: '^_'}],
    },
  },
  {
    // Tests read what elect and etcdctl print as JSON, untyped, and hand vitest unbound expectations.
    files: ['test/**/*.ts'],
    rules: {
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/unbound-method': 'off',
    },
  },
)
