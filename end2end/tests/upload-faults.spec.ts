// Uploads that are interrupted, in the browser: a connection that drops (the client retries the
// part that failed) and a page reloaded mid-upload (choosing the file again resumes); neither
// re-sends the parts the server already has.
import { type Route } from '@playwright/test';
import { expect, test } from './fixtures/test';
import { DashboardPage, signUpAndSignIn, waitForHydration } from './fixtures/spaceport';
import { fountainZip } from './fixtures/photos';

test('a dropped connection mid-upload resumes without re-sending finished parts', async ({ page }) => {
  test.setTimeout(120_000);
  // 5 photos, about 14 MB: two 8 MiB parts.
  const zip = fountainZip(['0002.jpg', '0003.jpg', '0004.jpg', '0005.jpg', '0006.jpg']);
  await signUpAndSignIn(page, 'dropped');
  await waitForHydration(page);
  const dashboard = new DashboardPage(page);
  await dashboard.createProject('Flaky hotel wifi');
  await dashboard.card('Flaky hotel wifi').getByRole('link').click();
  await waitForHydration(page);

  const delivered = new Map<number, number>();
  let dropped = 0;
  await page.route((url) => /^\/api\/uploads\/[^/]+\/parts\/\d+$/.test(url.pathname), async (route) => {
    const part = Number(new URL(route.request().url()).pathname.split('/').pop());
    // The connection drops while part 2 is on its way, the first time only.
    if (part === 2 && dropped === 0) {
      dropped++;
      return route.abort('connectionreset');
    }
    const response = await route.fetch();
    if (response.ok()) delivered.set(part, (delivered.get(part) ?? 0) + 1);
    return route.fulfill({ response });
  });

  await page.getByLabel('Photos: a .zip, or the photos themselves').setInputFiles(zip);
  await page.getByRole('button', { name: 'Upload' }).click();
  await expect(page.getByText('Photos uploaded', { exact: false }).first()).toBeVisible({ timeout: 90_000 });
  expect(dropped).toBe(1);
  expect([...delivered.keys()].sort()).toEqual([1, 2]);
  for (const [part, times] of delivered) {
    expect(times, `part ${part} sent ${times} times`).toBe(1);
  }
});

test('a page reloaded mid-upload resumes without re-sending finished parts', async ({ page }) => {
  test.setTimeout(120_000);
  const zip = fountainZip(['0002.jpg', '0003.jpg', '0004.jpg', '0005.jpg', '0006.jpg']);
  await signUpAndSignIn(page, 'reloaded');
  await waitForHydration(page);
  const dashboard = new DashboardPage(page);
  await dashboard.createProject('Closed the laptop');
  await dashboard.card('Closed the laptop').getByRole('link').click();
  await waitForHydration(page);

  const delivered = new Map<number, number>();
  let held: Route | undefined;
  await page.route((url) => /^\/api\/uploads\/[^/]+\/parts\/\d+$/.test(url.pathname), async (route) => {
    const part = Number(new URL(route.request().url()).pathname.split('/').pop());
    // Part 2 is still on its way when the page goes away: it never reaches the server.
    if (part === 2 && !held) {
      held = route;
      return;
    }
    const response = await route.fetch();
    if (response.ok()) delivered.set(part, (delivered.get(part) ?? 0) + 1);
    return route.fulfill({ response });
  });

  const input = page.getByLabel('Photos: a .zip, or the photos themselves');
  await input.setInputFiles(zip);
  await page.getByRole('button', { name: 'Upload' }).click();
  await expect.poll(() => delivered.get(1) ?? 0, { timeout: 30_000 }).toBe(1);
  expect(held).toBeDefined();
  await page.reload();
  await held!.abort().catch(() => {});
  await waitForHydration(page);
  // The same file again: the upload picks up where it was.
  await input.setInputFiles(zip);
  await page.getByRole('button', { name: 'Upload' }).click();
  await expect(page.getByText('Photos uploaded', { exact: false }).first()).toBeVisible({ timeout: 90_000 });
  expect(Object.fromEntries(delivered)).toEqual({ 1: 1, 2: 1 });
});
