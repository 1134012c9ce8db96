// The 3D viewer in Debian's Chromium, on a real scene (PlayCanvas's playbot, 125k splats, SH
// degree 2, unbundled SOG from ../shared/splats): once with WebGPU (SwiftShader, via
// --enable-unsafe-webgpu) and once where the browser has no WebGPU adapter, which must fall back
// to WebGL2. Each time the canvas must match the native renderer's picture (`spaceport render`,
// lavapipe) from the same start view, the progress bar must reach 100 %, and orbit, zoom and
// reset must change the picture the way they should.
import { type Page } from '@playwright/test';
import { test, expect } from './fixtures/test';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { PNG } from 'pngjs';

const SCENE = resolve(__dirname, '../../../shared/splats/playbot-lod2-125k');
const SPACEPORT = resolve(process.env.E2E_BIN_DIR || resolve(__dirname, '../../target/release'), 'spaceport');
// SwiftShader draws every pixel on the CPU, seconds a frame: a small canvas keeps these runs
// (two scenes on WebGPU, one on WebGL2, each orbited and zoomed) to a couple of minutes.
const W = 360;
const H = 240;
// Stated tolerance against the native render. The browser blends in 8 bits per channel (the
// canvas format) where the native render blends in half floats, so the two differ by rounding.
const MIN_PSNR_DB = 35;

type Pixels = { width: number; height: number; data: Buffer };

function psnr(a: Pixels, b: Pixels): number {
  expect([a.width, a.height]).toEqual([b.width, b.height]);
  let sum = 0;
  let n = 0;
  for (let i = 0; i < a.data.length; i += 4) {
    for (let c = 0; c < 3; c++) {
      const d = (a.data[i + c] - b.data[i + c]) / 255;
      sum += d * d;
      n++;
    }
  }
  const mse = sum / n;
  return mse === 0 ? Infinity : -10 * Math.log10(mse);
}

/** Share of pixels that are not background (black). */
function coverage(p: Pixels): number {
  let lit = 0;
  for (let i = 0; i < p.data.length; i += 4) {
    if (p.data[i] + p.data[i + 1] + p.data[i + 2] > 24) lit++;
  }
  return lit / (p.width * p.height);
}

let nativeRender: Pixels;
/** The scene as one `.sog` bundle (our own encoder's, from the same splats). */
let bundle: Buffer;

test.beforeAll(() => {
  const dir = mkdtempSync(join(tmpdir(), 'spaceport-viewer-'));
  const out = join(dir, 'native.png');
  execFileSync(SPACEPORT, ['render', SCENE, out, '--width', `${W}`, '--height', `${H}`], {
    stdio: 'pipe',
  });
  nativeRender = PNG.sync.read(readFileSync(out));
  execFileSync(SPACEPORT, ['decompress', SCENE, join(dir, 'scene.ply')], { stdio: 'pipe' });
  execFileSync(SPACEPORT, ['compress', join(dir, 'scene.ply'), join(dir, 'scene.sog'), '--no-report'], {
    stdio: 'pipe',
  });
  bundle = readFileSync(join(dir, 'scene.sog'));
});

async function serveScene(page: Page) {
  // The scene's files, served from the shared folder as if the site hosted them.
  await page.route((url) => url.pathname.startsWith('/samples/playbot/'), (route) =>
    route.fulfill({ path: join(SCENE, basename(new URL(route.request().url()).pathname)) }),
  );
}

/** The viewer's current picture, rendered offscreen by the page's renderer and read back. */
async function capture(page: Page): Promise<Pixels> {
  const data = await page.evaluate(async () =>
    Array.from(await (window as any).spaceportViewer.capture() as Uint8Array),
  );
  return { width: W, height: H, data: Buffer.from(data) };
}

/** What the browser shows in the canvas (the overlay's buttons hidden). */
async function screenshot(page: Page): Promise<Pixels> {
  // Through the CSSOM: an added <style> tag would break the page's Content-Security-Policy.
  await page.evaluate(() =>
    document
      .querySelectorAll<HTMLElement>('.spv-toolbar')
      .forEach((e) => e.style.setProperty('display', 'none', 'important')),
  );
  await page.waitForTimeout(300);
  return PNG.sync.read(await page.locator('canvas').screenshot());
}

async function openScene(page: Page, backend: string, query = '') {
  await page.setViewportSize({ width: W, height: H });
  await serveScene(page);
  const progress: number[] = [];
  await page.goto(`/view?url=/samples/playbot/meta.json${query}`);
  const viewer = page.locator('#viewer');
  await expect(viewer).toHaveAttribute('data-backend', backend);
  // Sample the progress bar while it loads.
  for (let i = 0; i < 200; i++) {
    const state = await viewer.getAttribute('data-state');
    progress.push(Number((await viewer.getAttribute('data-progress')) ?? 0));
    if (state === 'ready' || state === 'error') break;
    await page.waitForTimeout(100);
  }
  await expect(viewer).toHaveAttribute('data-state', 'ready', { timeout: 60_000 });
  await expect(viewer).toHaveAttribute('data-progress', '100');
  await expect(viewer).toHaveAttribute('data-splats', '125000');
  expect(Math.max(...progress)).toBeLessThanOrEqual(100);
  // Chromium decodes the WebP images itself (WebCodecs), checked against our decoder on sh0.
  await expect(viewer).toHaveAttribute('data-webp', query.includes('webp=wasm') ? 'wasm' : 'browser');
  console.log(`decode: ${await viewer.getAttribute('data-decode-ms')} ms (${await viewer.getAttribute('data-webp')})`);
}

async function checkPictureAndControls(page: Page) {
  const start = await capture(page);
  const db = psnr(start, nativeRender);
  console.log(`canvas vs native render: ${db.toFixed(1)} dB`);
  if (db < MIN_PSNR_DB) {
    writeFileSync(test.info().outputPath('canvas.png'), PNG.sync.write(start as PNG));
    writeFileSync(test.info().outputPath('native.png'), PNG.sync.write(nativeRender as PNG));
  }
  expect(db).toBeGreaterThanOrEqual(MIN_PSNR_DB);

  // Wheel up zooms in: the model covers more of the picture.
  const canvas = page.locator('canvas');
  const box = (await canvas.boundingBox())!;
  await page.mouse.move(box.x + W / 2, box.y + H / 2);
  await page.mouse.wheel(0, -400);
  const zoomed = await capture(page);
  expect(coverage(zoomed)).toBeGreaterThan(coverage(start) * 1.3);

  // A horizontal drag orbits: a different picture of about the same size.
  await canvas.focus();
  await page.keyboard.press('r');
  await page.mouse.move(box.x + W / 2, box.y + H / 2);
  await page.mouse.down();
  await page.mouse.move(box.x + W / 2 + 120, box.y + H / 2, { steps: 6 });
  await page.mouse.up();
  const orbited = await capture(page);
  expect(psnr(orbited, start)).toBeLessThan(25);
  expect(coverage(orbited)).toBeGreaterThan(coverage(start) * 0.5);
  expect(coverage(orbited)).toBeLessThan(coverage(start) * 2);

  // R (with the canvas focused by the drag) returns to the start view.
  await page.keyboard.press('r');
  const reset = await capture(page);
  expect(psnr(reset, start)).toBeGreaterThan(40);
}

test('opens the real scene with WebGPU and matches the native renderer', async ({ playwright, baseURL }) => {
  // Two scenes on SwiftShader, one with its depth sort in compute shaders (300 ms a frame on a
  // CPU): about two minutes on 2 cores, as long as the WebGL2 run below.
  test.setTimeout(240_000);
  // WebGPU needs its own browser: headless Chromium offers an adapter only with this flag.
  const browser = await playwright.chromium.launch({
    executablePath: process.env.CHROMIUM_PATH || '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-background-networking', '--disable-component-update',
      '--disable-sync', '--no-first-run', '--disable-quic', '--enable-unsafe-webgpu'],
  });
  try {
    const page = await (await browser.newContext({ baseURL })).newPage();
    // Headless Chromium's SwiftShader WebGPU loses its device as soon as a WebGPU canvas is
    // presented (plain JavaScript does the same here), so this run draws offscreen with WebGPU
    // and reads the pictures back; presentation is checked on WebGL2 below.
    await openScene(page, 'webgpu', '&renderer=webgpu-offscreen');
    // SwiftShader is a CPU pretending to be a GPU: the depth sort stays on the CPU by default.
    expect(await page.locator('#viewer').getAttribute('data-sort')).not.toBe('gpu');
    await checkPictureAndControls(page);
    // The depth sort in compute shaders (the default on hardware WebGPU), asked for here, and
    // the images decoded by our own decoder: the same pictures.
    await openScene(page, 'webgpu', '&renderer=webgpu-offscreen&sort=gpu&webp=wasm');
    await expect(page.locator('#viewer')).toHaveAttribute('data-sort', 'gpu');
    await checkPictureAndControls(page);
  } finally {
    await browser.close();
  }
});

test('falls back to WebGL2 where there is no WebGPU, and still matches', async ({ page }) => {
  // SwiftShader draws each WebGL2 frame on the CPU: seconds per frame on 2 cores.
  test.setTimeout(240_000);
  await openScene(page, 'webgl2');
  // What reaches the screen is what the renderer drew. (Headless Chromium composites WebGL2
  // canvases but not WebGPU ones — SwiftShader's WebGPU canvas reads back empty — so this check
  // runs on WebGL2 only.)
  const shown = await screenshot(page);
  const drawn = await capture(page);
  expect(psnr(shown, drawn)).toBeGreaterThan(40);
  await checkPictureAndControls(page);

  // After the first frame the depth sort runs in a worker; what reaches the screen after a turn
  // is drawn in the worker's order, and matches a render sorted here for the same view.
  await expect(page.locator('#viewer')).toHaveAttribute('data-sort', 'worker');
  const canvas = page.locator('canvas');
  const box = (await canvas.boundingBox())!;
  await page.mouse.move(box.x + W / 2, box.y + H / 2);
  await page.mouse.down();
  await page.mouse.move(box.x + W / 2 - 150, box.y + H / 2 + 40, { steps: 2 });
  await page.mouse.up();
  const turned = await screenshot(page);
  expect(psnr(turned, await capture(page))).toBeGreaterThan(40);
  const stats = await page.evaluate(() => JSON.parse((window as any).spaceportViewer.stats()));
  expect(stats.sort_samples).toBeGreaterThan(1);
});

test('a .sog bundle is drawn before its higher SH bands have arrived', async ({ page }) => {
  test.setTimeout(240_000);
  // Served as a host would: whole, or its last bytes for a suffix range request.
  const ranges: string[] = [];
  await page.route((url) => url.pathname === '/samples/bundle/model.sog', (route) => {
    const range = route.request().headers()['range'];
    const suffix = range ? /^bytes=-(\d+)$/.exec(range) : null;
    if (suffix) {
      ranges.push(range!);
      const start = Math.max(0, bundle.length - Number(suffix[1]));
      return route.fulfill({
        status: 206,
        body: bundle.subarray(start),
        headers: {
          'content-type': 'application/zip',
          'content-range': `bytes ${start}-${bundle.length - 1}/${bundle.length}`,
        },
      });
    }
    return route.fulfill({ body: bundle, contentType: 'application/zip' });
  });
  await page.setViewportSize({ width: W, height: H });
  await page.goto('/view?url=/samples/bundle/model.sog&renderer=webgl2');
  const viewer = page.locator('#viewer');
  await expect(viewer).toHaveAttribute('data-state', 'ready', { timeout: 120_000 });
  // The central directory came first, and the splats were shown without their SH palette
  // while it streamed in; the finished picture is the whole model's.
  expect(ranges).toEqual(['bytes=-65536']);
  await expect(viewer).toHaveAttribute('data-preview', '125000');
  await expect(viewer).toHaveAttribute('data-webp', 'browser');
  await expect(viewer).toHaveAttribute('data-splats', '125000');
  const db = psnr(await capture(page), nativeRender);
  console.log(`bundle canvas vs native render: ${db.toFixed(1)} dB`);
  expect(db).toBeGreaterThanOrEqual(MIN_PSNR_DB);
});

test('a file that is not a model, and a missing one, get clear messages', async ({ page }) => {
  await page.route((url) => url.pathname === '/samples/broken/model.sog', (route) =>
    route.fulfill({ body: 'this is not a splat file', contentType: 'application/octet-stream' }),
  );
  await page.goto('/view?url=/samples/broken/model.sog&renderer=webgl2');
  await expect(page.locator('.spv-message')).toContainText('not a splat model');
  await expect(page.locator('#viewer')).toHaveAttribute('data-state', 'error');

  await page.goto('/view?url=/samples/nothing-here/model.sog&renderer=webgl2');
  await expect(page.locator('.spv-message')).toContainText('not found');
  await expect(page.getByRole('button', { name: 'Retry' })).toHaveCount(0);

  // Another site's file is refused by the page itself.
  const res = await page.goto('/view?url=//evil.example/model.sog');
  expect(res?.status()).toBe(400);
});

test('a dropped connection offers a retry that then opens the model', async ({ page }) => {
  test.setTimeout(90_000);
  await page.setViewportSize({ width: W, height: H });
  let failNext = true;
  await page.route((url) => url.pathname.startsWith('/samples/playbot/'), (route) => {
    const name = basename(new URL(route.request().url()).pathname);
    // The first attempt loses the connection on one of the images, half-way through the files.
    if (failNext && name === 'quats.webp') {
      failNext = false;
      return route.abort('connectionreset');
    }
    return route.fulfill({ path: join(SCENE, name) });
  });
  await page.goto('/view?url=/samples/playbot/meta.json&renderer=webgl2');
  await expect(page.locator('.spv-message')).toContainText('network');
  await page.getByRole('button', { name: 'Retry' }).click();
  await expect(page.locator('#viewer')).toHaveAttribute('data-state', 'ready', { timeout: 60_000 });
  await expect(page.locator('.spv-message')).toBeHidden();
});

test('a browser with neither WebGPU nor WebGL2 is told so', async ({ playwright, baseURL }) => {
  const browser = await playwright.chromium.launch({
    executablePath: process.env.CHROMIUM_PATH || '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-background-networking', '--disable-component-update',
      '--disable-sync', '--no-first-run', '--disable-quic', '--disable-3d-apis'],
  });
  try {
    const page = await (await browser.newContext({ baseURL })).newPage();
    await page.goto('/view?url=/samples/playbot/meta.json');
    await expect(page.locator('.spv-message')).toContainText('neither WebGPU nor WebGL2');
    await expect(page.locator('#viewer')).toHaveAttribute('data-state', 'error');
  } finally {
    await browser.close();
  }
});
