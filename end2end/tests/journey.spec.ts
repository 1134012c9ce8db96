import { readFileSync } from 'node:fs';
import { expect, test } from './fixtures/test';
import { DashboardPage, projectWithPhotos, signUpAndSignIn, waitForHydration } from './fixtures/spaceport';
import { orbitZip } from './fixtures/photos';

test('photos go in, a model comes out: upload, process, watch, download', async ({ page }) => {
  test.setTimeout(6 * 60_000);
  const zip = orbitZip();
  // The project page follows the job through its server-sent event stream.
  let streams = 0;
  page.on('request', (r) => {
    if (/\/api\/projects\/[^/]+\/progress$/.test(new URL(r.url()).pathname)) streams++;
  });
  await signUpAndSignIn(page, 'journey');
  await waitForHydration(page);
  const dashboard = new DashboardPage(page);
  await dashboard.createProject('Orbit farm');
  await dashboard.card('Orbit farm').getByRole('link').click();
  await expect(page.getByRole('heading', { level: 1, name: 'Orbit farm' })).toBeVisible();
  await waitForHydration(page);

  // Processing needs photos first.
  await page.getByRole('button', { name: 'Start processing' }).click();
  await expect(page.getByText('upload the photos first')).toBeVisible();

  await page.getByLabel('Photos: a .zip, or the photos themselves').setInputFiles(zip);
  await page.getByRole('button', { name: 'Upload' }).click();
  // The page reloads when the upload completes.
  await expect(page.getByText('Photos uploaded', { exact: false }).first()).toBeVisible({ timeout: 60_000 });
  await waitForHydration(page);

  await page.getByText('Advanced settings').click();
  await page.getByLabel('Training iterations').fill('60');
  await page.getByLabel('Photo size for reconstruction (px)').fill('480');
  await page.getByLabel('Photo size for training (px)').fill('320');
  await page.getByLabel('Colour detail (spherical-harmonics degree)').selectOption('1');
  await page.getByRole('button', { name: 'Start processing' }).click();

  const job = page.getByTestId('job');
  await expect(job).toBeVisible({ timeout: 15_000 });
  // Live progress: the stages tick off while we watch.
  await expect(job.locator('.stages li.done').first()).toBeVisible({ timeout: 120_000 });
  await expect(job).toHaveAttribute('data-status', 'succeeded', { timeout: 5 * 60_000 });
  await expect(job.locator('.stages li.done')).toHaveCount(4);
  // The header's status followed the job, without a reload.
  await expect(page.locator('.project-head .status')).toHaveAttribute('data-status', 'delivered');
  expect(streams).toBeGreaterThan(0);
  // The training curve — held-out PSNR as the trainer measured it — and the time it took.
  await expect(page.getByTestId('training-chart')).toContainText(/Held-out PSNR \d+\.\d dB at iteration 60 of 60/);
  await expect(page.getByTestId('held-out-curve')).toBeVisible();
  await expect(page.getByTestId('job-timing')).toContainText('elapsed');
  // The model's report: held-out fidelity, what the model is, what it costs to download.
  const report = page.getByTestId('model-report');
  await expect(report).toContainText(/\d+\.\d dB PSNR · SSIM 0\.\d{3} on 2 held-out photos/);
  await expect(report).toContainText('colour detail 1 · 60 iterations');
  await expect(report).toContainText(/\d+ KiB \(\d+\.\d bytes per Gaussian\)/);

  const downloading = page.waitForEvent('download');
  await page.getByTestId('delivered').getByRole('link', { name: 'model.sog' }).click();
  const sog = readFileSync(await (await downloading).path());
  expect(sog.subarray(0, 2).toString()).toBe('PK');

  // The model opens in the viewer embedded in the project page.
  const viewer = page.frameLocator('[data-testid="model-viewer"]').locator('#viewer');
  await expect(viewer).toHaveAttribute('data-state', 'ready', { timeout: 30_000 });
  expect(Number(await viewer.getAttribute('data-splats'))).toBeGreaterThan(0);
  await expect(viewer).toHaveAttribute('data-backend', /webgpu|webgl2/);

  await page.reload();
  await expect(page.getByText('Delivered').first()).toBeVisible();
  await waitForHydration(page);

  // Run again from a later stage: the earlier stages' work is kept, not redone.
  const from = page.getByTestId('start-from');
  await expect(from.locator('option')).toHaveCount(4);
  await from.selectOption('compress');
  await page.getByRole('button', { name: 'Start processing' }).click();
  await expect(page.getByTestId('job-restart')).toContainText('Run again from compress', { timeout: 15_000 });
  await expect(job).toHaveAttribute('data-status', 'succeeded', { timeout: 60_000 });
});

test('a failed job says why and can be retried from where it stopped', async ({ page }) => {
  test.setTimeout(2 * 60_000);
  const zip = orbitZip(2);
  await signUpAndSignIn(page, 'retry');
  await waitForHydration(page);
  await projectWithPhotos(page, 'Two photos', zip);
  await page.getByRole('button', { name: 'Start processing' }).click();

  const job = page.getByTestId('job');
  await expect(job).toHaveAttribute('data-status', 'failed', { timeout: 60_000 });
  await expect(page.getByTestId('job-error')).toContainText('at least 3 distinct photos');
  await expect(page.locator('.project-head .status')).toHaveAttribute('data-status', 'failed');
  // Nothing finished, so there is no later stage to start from; the retry starts at ingest.
  await expect(page.getByTestId('start-from')).toHaveCount(0);
  await page.getByTestId('retry').click();
  await expect(page.getByTestId('job-restart')).toContainText('Run again from ingest', { timeout: 15_000 });
  await expect(job).toHaveAttribute('data-status', 'failed', { timeout: 60_000 });
});
