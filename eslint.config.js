// @ts-check
import js from '@eslint/js'
import tseslint from 'typescript-eslint'

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', '.stack/', 'coverage/', 'stack/'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/switch-exhaustiveness-check': [
        'error',
        { considerDefaultExhaustiveForUnions: true },
      ],
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_' },
      ],
    },
  },
  {
    // The derivation core is pure: no I/O, no clock, no Kafka/Avro/logging libraries.
    files: ['src/derive/**'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: [
            'kafkajs',
            'avsc',
            'pino',
            'fs',
            'node:fs',
            'process',
            'node:process',
            '@kafkajs/confluent-schema-registry',
            'prom-client',
          ],
          patterns: ['../*', '!../errors.js'],
        },
      ],
      'no-restricted-globals': ['error', 'process', 'Date'],
    },
  },
  {
    files: ['**/*.js', '**/*.mjs'],
    ...tseslint.configs.disableTypeChecked,
  },
)
