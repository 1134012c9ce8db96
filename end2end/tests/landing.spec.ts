// What a visitor's first load costs and shows: the landing page hydrates with the public bundle
// alone (under 250 KB of wasm over the wire), the showcase model's poster shows at once and the
// real viewer fades in over it once it has drawn the model; About and Pricing need no script at
// all; signing in loads the whole app.
import { PNG } from 'pngjs';
import { test, expect } from './fixtures/test';
import { gotoHydrated, invite, PASSWORD, SignInPage, uniqueEmail, WelcomePage } from './fixtures/spaceport';

/** Paths of the scripts and wasm a page fetches, with their sizes on the wire. */
function watchScripts(page: import('@playwright/test').Page) {
  const seen: { path: string; bytes: number }[] = [];
  page.on('requestfinished', async (req) => {
    const path = new URL(req.url()).pathname;
    if (/\.(wasm|js)$/.test(path)) {
      seen.push({ path, bytes: (await req.sizes()).responseBodySize });
    }
  });
  return seen;
}

test('the first load is the public bundle, and the model fades in over its poster', async ({ page }) => {
  // A small window: the viewer draws on the CPU here (SwiftShader).
  await page.setViewportSize({ width: 900, height: 700 });
  const scripts = watchScripts(page);
  // The model is held back until the poster has been checked, so the order is certain.
  let release!: () => void;
  const held = new Promise<void>((r) => (release = r));
  await page.route('**/showcase/model.sog', async (route) => {
    await held;
    await route.continue();
  });
  await gotoHydrated(page, '/');
  const poster = page.locator('spaceport-showcase img');
  await expect(poster).toBeVisible();
  await expect.poll(() => poster.evaluate((img: HTMLImageElement) => img.naturalWidth)).toBe(960);

  await expect.poll(() => scripts.filter((s) => s.path.endsWith('.wasm')).length).toBeGreaterThan(0);
  const app = scripts.filter((s) => s.path.startsWith('/pkg/') && s.path.endsWith('.wasm'));
  expect(app.map((s) => s.path)).toEqual([expect.stringMatching(/^\/pkg\/public\.[0-9a-f]{16}\.wasm$/)]);
  expect(app[0].bytes).toBeGreaterThan(0);
  expect(app[0].bytes).toBeLessThanOrEqual(250_000);

  // The viewer starts after the page, in the frame, and shows itself once it has the model.
  const showcase = page.locator('spaceport-showcase');
  await expect(showcase).not.toHaveClass(/live/);
  release();
  await expect(showcase).toHaveClass(/live/, { timeout: 90_000 });
  const viewer = page.frameLocator('spaceport-showcase iframe').locator('#viewer');
  await expect(viewer).toHaveAttribute('data-state', 'ready');
  await expect(viewer.locator('canvas')).toBeVisible();
  await page.screenshot({ path: test.info().outputPath('landing.png'), fullPage: true });

  // A picture check: the live viewer shows the model the poster shows (the poster is the native
  // renderer's picture from the same start view), not a blank or a different frame.
  const box = page.locator('spaceport-showcase iframe');
  const live = PNG.sync.read(await box.screenshot());
  await page.locator('spaceport-showcase').evaluate((el) => el.classList.remove('live'));
  await page.waitForTimeout(700); // the fade-out
  const still = PNG.sync.read(await box.screenshot());
  const lit = (p: PNG) => {
    let n = 0;
    for (let i = 0; i < p.data.length; i += 4) if (p.data[i] + p.data[i + 1] + p.data[i + 2] > 60) n++;
    return n / (p.width * p.height);
  };
  let sum = 0;
  for (let i = 0; i < live.data.length; i += 4) {
    for (let c = 0; c < 3; c++) sum += ((live.data[i + c] - still.data[i + c]) / 255) ** 2;
  }
  const psnr = -10 * Math.log10(sum / ((live.data.length / 4) * 3));
  test.info().annotations.push({ type: 'showcase', description: `live vs poster ${psnr.toFixed(1)} dB, lit ${lit(live).toFixed(2)} vs ${lit(still).toFixed(2)}` });
  expect(lit(live)).toBeGreaterThan(0.1);
  expect(psnr).toBeGreaterThan(20);

  // "Open it full screen" is the viewer's own page, not one of the app's routes.
  await page.getByRole('link', { name: 'Open it full screen' }).click();
  await expect(page).toHaveURL(/\/view\?url=\/showcase\/model\.sog/);
  await expect(page.locator('body.viewer-page #viewer')).toBeAttached();
});

test('About and Pricing need no script, and signing in loads the whole app', async ({ page }) => {
  const scripts = watchScripts(page);
  await page.goto('/about');
  await expect(page.getByRole('heading', { name: 'About Spaceport' })).toBeVisible();
  await page.getByRole('contentinfo').getByRole('link', { name: 'Pricing' }).click();
  await expect(page.getByRole('heading', { name: 'Pricing', level: 1 })).toBeVisible();
  expect(scripts.map((s) => s.path)).toEqual([]);

  const email = uniqueEmail('bundles');
  const password = invite(email);
  await gotoHydrated(page, '/signin');
  expect(scripts.map((s) => s.path)).toContainEqual(expect.stringMatching(/^\/pkg\/public\./));
  await new SignInPage(page).signIn(email, password);
  await expect(page).toHaveURL(/\/welcome$/);
  expect(scripts.some((s) => s.path.startsWith('/pkg/spaceport.'))).toBe(false);

  // The first signed-in page is a full load with the whole app, and the top bar shows who.
  const handle = `b${Date.now() % 1e8}`;
  await new WelcomePage(page).complete(handle, PASSWORD);
  await expect(page).toHaveURL(/\/dashboard$/);
  await expect(page.getByRole('navigation', { name: 'Main' })).toContainText(`@${handle}`);
  await expect.poll(() => scripts.some((s) => /^\/pkg\/spaceport\.[0-9a-f]{16}\.wasm$/.test(s.path))).toBe(true);

  // Signing out is a plain form: a full load, after which the bar offers sign-in again.
  await page.getByRole('button', { name: 'Sign out' }).click();
  await expect(page).toHaveURL(/\/$/);
  await expect(page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Sign in' })).toBeVisible();
});
