// The whole journey on real photos: Strecha's fountain-P11 (../shared/datasets), uploaded from
// the browser, reconstructed by COLMAP, trained and compressed, then opened in the viewer.
// By default a 6-photo subset at a small working size and a short training run, to fit CI;
// `scripts/journey-long.sh standard` runs all 11 photos with the standard preset (much longer), and
// `scripts/journey-long.sh survey` the 75-photo caliterra drone survey with the preview preset.
import { readdirSync } from 'node:fs';
import { type Page } from '@playwright/test';
import { expect, test } from './fixtures/test';
import { DashboardPage, signUpAndSignIn, waitForHydration } from './fixtures/spaceport';
import { CALITERRA, fountainZip, photosZip } from './fixtures/photos';

const STANDARD = process.env.JOURNEY_PRESET === 'standard';
const SURVEY = process.env.JOURNEY_DATASET === 'caliterra';

/** A new user with a new project `title`, the photos in `zip` uploaded from its page. */
async function uploadToNewProject(page: Page, user: string, title: string, zip: string, timeout: number) {
  await signUpAndSignIn(page, user);
  await waitForHydration(page);
  const dashboard = new DashboardPage(page);
  await dashboard.createProject(title);
  await dashboard.card(title).getByRole('link').click();
  await waitForHydration(page);
  await page.getByLabel('Photos: a .zip, or the photos themselves').setInputFiles(zip);
  await page.getByRole('button', { name: 'Upload' }).click();
  await expect(page.getByText('Photos uploaded', { exact: false }).first()).toBeVisible({ timeout });
  await waitForHydration(page);
}

test('a drone survey becomes a model that opens in the viewer', async ({ page }) => {
  test.skip(!SURVEY, 'a long run: scripts/journey-long.sh survey');
  test.setTimeout(60 * 60_000);
  const names = readdirSync(CALITERRA).filter((n) => n.toLowerCase().endsWith('.jpg')).sort();
  await uploadToNewProject(page, 'surveyor', 'Caliterra', photosZip(CALITERRA, names), 300_000);
  await page.getByLabel('Quality').selectOption('preview');
  await page.getByRole('button', { name: 'Start processing' }).click();
  const job = page.getByTestId('job');
  await expect(job).toBeVisible({ timeout: 15_000 });
  await expect(job).toHaveAttribute('data-status', 'succeeded', { timeout: 55 * 60_000 });
  const viewer = page.frameLocator('[data-testid="model-viewer"]').locator('#viewer');
  await expect(viewer).toHaveAttribute('data-state', 'ready', { timeout: 120_000 });
  await page.screenshot({ path: test.info().outputPath('caliterra-project.png'), fullPage: true });
  const files = page.url().replace(/\/projects\/([^/?#]+).*/, '/api/projects/$1/files/');
  const report = await (await page.request.get(`${files}report.json`)).json();
  console.log(`caliterra (${names.length} photos): ${report.gaussians} Gaussians, held-out PSNR ` +
    `${report.evaluation.psnr.toFixed(1)} dB, SSIM ${report.evaluation.ssim.toFixed(3)}, ` +
    `${report.seconds.toFixed(0)} s training`);
  expect(report.evaluation.psnr).toBeGreaterThan(28);
});

test('real photos become a model that opens in the viewer', async ({ page }) => {
  test.skip(SURVEY, 'the survey run only');
  test.setTimeout(STANDARD ? 90 * 60_000 : 8 * 60_000);
  const names = STANDARD
    ? Array.from({ length: 11 }, (_, i) => `${String(i).padStart(4, '0')}.jpg`)
    : ['0002.jpg', '0003.jpg', '0004.jpg', '0005.jpg', '0006.jpg', '0007.jpg'];
  const zip = fountainZip(names);
  await uploadToNewProject(page, 'fountain', 'Fountain', zip, 120_000);

  if (STANDARD) {
    await page.getByLabel('Quality').selectOption('standard');
  } else {
    await page.getByLabel('Quality').selectOption('preview');
    await page.getByText('Advanced settings').click();
    await page.getByLabel('Training iterations').fill('300');
    await page.getByLabel('Photo size for reconstruction (px)').fill('768');
    await page.getByLabel('Photo size for training (px)').fill('320');
  }
  await page.getByRole('button', { name: 'Start processing' }).click();

  const job = page.getByTestId('job');
  await expect(job).toBeVisible({ timeout: 15_000 });
  await expect(job).toHaveAttribute('data-status', 'succeeded', {
    timeout: STANDARD ? 85 * 60_000 : 7 * 60_000,
  });
  await expect(job.locator('.stages li.done')).toHaveCount(4);

  // Every photo found its camera, and the model opens.
  const viewer = page.frameLocator('[data-testid="model-viewer"]').locator('#viewer');
  await expect(viewer).toHaveAttribute('data-state', 'ready', { timeout: 60_000 });
  expect(Number(await viewer.getAttribute('data-splats'))).toBeGreaterThan(1000);
  const report = await (await page.request.get(
    page.url().replace(/\/projects\/([^/?#]+).*/, '/api/projects/$1/files/report.json'),
  )).json();
  const quality = report.evaluation
    ? `held-out PSNR ${report.evaluation.psnr.toFixed(1)} dB, SSIM ${report.evaluation.ssim.toFixed(3)}`
    : 'no photo held out';
  console.log(`fountain (${names.length} photos): ${report.gaussians} Gaussians, ${quality}, ` +
    `${report.seconds.toFixed(0)} s training`);
  expect(report.gaussians).toBeGreaterThan(1000);
});
