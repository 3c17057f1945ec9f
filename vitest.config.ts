import { defineConfig } from 'vitest/config'

const skipIntegration =
  process.env.ASSETSTREAM_SKIP_INTEGRATION === '1' && process.env.CI !== 'true'

export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: [
            'test/unit/**/*.test.ts',
            'test/pipeline/**/*.test.ts',
            'test/property/**/*.test.ts',
            'test/cli/**/*.test.ts',
          ],
          testTimeout: 30_000,
        },
      },
      ...(skipIntegration
        ? []
        : [
            {
              test: {
                name: 'integration',
                include: ['test/integration/**/*.test.ts'],
                globalSetup: ['test/integration/global-setup.ts'],
                // One broker, two cores: integration files run one at a time.
                fileParallelism: false,
                testTimeout: 300_000,
                hookTimeout: 120_000,
              },
            },
          ]),
    ],
  },
})
