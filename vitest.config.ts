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
                sequence: { groupOrder: 1 },
              },
            },
            {
              test: {
                name: 'cluster',
                include: ['test/cluster/**/*.test.ts'],
                globalSetup: ['test/cluster/global-setup.ts'],
                // The three-broker cluster of stack/stack.sh cluster-up; after the integration tier.
                env: {
                  ASSETSTREAM_TEST_BROKERS: '127.0.0.1:19092,127.0.0.1:19093,127.0.0.1:19094',
                  ASSETSTREAM_TEST_REPLICATION_FACTOR: '3',
                },
                fileParallelism: false,
                testTimeout: 420_000,
                hookTimeout: 180_000,
                sequence: { groupOrder: 2 },
              },
            },
          ]),
    ],
  },
})
