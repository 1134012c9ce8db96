// Playwright drives Debian's Chromium (Playwright cannot download its own browsers here) against
// the release server, started on a fresh temporary data directory for each run.
import { defineConfig } from '@playwright/test';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

// Evaluated by the runner and again by each worker: keep the first run's values in the
// environment so every worker talks to the same server and data directory.
process.env.E2E_DATA_DIR ||= mkdtempSync(join(tmpdir(), 'spaceport-e2e-'));
process.env.E2E_PORT ||= '3107';
// Tests never reach the internet: the map's tiles, the terrain tiles and the place search come
// from a local stand-in (servers/map-fixtures.mjs).
process.env.E2E_FIXTURE_PORT ||= String(Number(process.env.E2E_PORT) + 1);
const fixtures = `http://127.0.0.1:${process.env.E2E_FIXTURE_PORT}`;
process.env.SPACEPORT_TERRAIN_TILES_URL ||= `${fixtures}/terrain/{z}/{x}/{y}.png`;
process.env.SPACEPORT_MAP_TILES_URL ||= `${fixtures}/tiles/{z}/{x}/{y}.png`;
process.env.SPACEPORT_MAP_ATTRIBUTION ||= '© Test tiles';
process.env.SPACEPORT_GEOCODER_URL ||= `${fixtures}/search`;
// The binaries under test: the release build, or another profile's (scripts/test.sh: target/ci).
process.env.E2E_BIN_DIR ||= resolve(__dirname, '../target/release');
process.env.E2E_SERVER_BIN ||= resolve(process.env.E2E_BIN_DIR, 'server');
const baseURL = `http://127.0.0.1:${process.env.E2E_PORT}`;

export default defineConfig({
  testDir: './tests',
  timeout: 60_000,
  expect: { timeout: 10_000 },
  fullyParallel: false,
  workers: 1,
  retries: 0,
  reporter: [['list']],
  use: {
    baseURL,
    trace: 'retain-on-failure',
    screenshot: 'only-on-failure',
    launchOptions: {
      executablePath: process.env.CHROMIUM_PATH || '/usr/bin/chromium',
      args: [
        '--no-sandbox',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--no-first-run',
        '--disable-quic',
      ],
    },
  },
  webServer: [
    {
      command: `node servers/map-fixtures.mjs`,
      url: fixtures,
      reuseExistingServer: false,
      timeout: 10_000,
    },
    {
      command: `"${process.env.E2E_SERVER_BIN}" --addr 127.0.0.1:${process.env.E2E_PORT} --data-dir "${process.env.E2E_DATA_DIR}"`,
      url: baseURL,
      reuseExistingServer: false,
      timeout: 60_000,
      stdout: 'pipe',
      stderr: 'pipe',
    },
  ],
});
