import { defineConfig } from 'vitest/config';

// Three projects: `unit` is pure and fast; `integration` starts real processes and containers,
// so it runs its files one at a time and gives each test an explicit, generous timeout; `kernel`
// boots a real kernel under qemu (test/kernel/) and runs AFTER the others (groupOrder), alone:
// under emulation its clocks are the host's, so it must not share the CPU with them.
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['test/unit/**/*.test.ts'],
          testTimeout: 10_000,
        },
      },
      {
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts'],
          globalSetup: ['test/integration/setup/global-setup.ts'],
          testTimeout: 120_000,
          hookTimeout: 300_000,
          fileParallelism: false,
        },
      },
      {
        test: {
          name: 'kernel',
          include: ['test/kernel/**/*.test.ts'],
          // The VM run itself is bounded to 3 minutes; the first run may also install qemu and fetch the kernel.
          testTimeout: 30_000,
          hookTimeout: 600_000,
          sequence: { groupOrder: 1 },
        },
      },
    ],
  },
});
