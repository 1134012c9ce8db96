// What a visitor's first load costs and shows: the landing page hydrates with the public bundle
// alone (under 250 KB of wasm over the wire), the showcase model's poster shows at once and the
// real viewer fades in over it once it has drawn the model; About and Pricing need no script at
// all; signing in loads the whole app.
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
  await gotoHydrated(page, '/');
  const poster = page.locator('spaceport-showcase img');
  await expect(poster).toBeVisible();
  await expect.poll(() => poster.evaluate((img: HTMLImageElement) => img.naturalWidth)).toBe(960);

  await expect.poll(() => scripts.filter((s) => s.path.endsWith('.wasm')).length).toBeGreaterThan(0);
  const app = scripts.filter((s) => s.path.startsWith('/pkg/') && s.path.endsWith('.wasm'));
  expect(app.map((s) => s.path)).toEqual(['/pkg/public.wasm']);
  expect(app[0].bytes).toBeGreaterThan(0);
  expect(app[0].bytes).toBeLessThanOrEqual(250_000);

  // The viewer starts after the page, in the frame, and shows itself once it has the model.
  const showcase = page.locator('spaceport-showcase');
  await expect(showcase).not.toHaveClass(/live/);
  await expect(showcase).toHaveClass(/live/, { timeout: 90_000 });
  const viewer = page.frameLocator('spaceport-showcase iframe').locator('#viewer');
  await expect(viewer).toHaveAttribute('data-state', 'ready');
  await expect(viewer.locator('canvas')).toBeVisible();
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
  expect(scripts.map((s) => s.path)).toContain('/pkg/public.wasm');
  await new SignInPage(page).signIn(email, password);
  await expect(page).toHaveURL(/\/welcome$/);
  expect(scripts.map((s) => s.path)).not.toContain('/pkg/spaceport.wasm');

  // The first signed-in page is a full load with the whole app, and the top bar shows who.
  const handle = `b${Date.now() % 1e8}`;
  await new WelcomePage(page).complete(handle, PASSWORD);
  await expect(page).toHaveURL(/\/dashboard$/);
  await expect(page.getByRole('navigation', { name: 'Main' })).toContainText(`@${handle}`);
  await expect.poll(() => scripts.map((s) => s.path)).toContain('/pkg/spaceport.wasm');

  // Signing out is a plain form: a full load, after which the bar offers sign-in again.
  await page.getByRole('button', { name: 'Sign out' }).click();
  await expect(page).toHaveURL(/\/$/);
  await expect(page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Sign in' })).toBeVisible();
});
