// Browser half of scripts/bench-viewer.sh: opens each scene in headless Debian Chromium from the
// Spaceport server over loopback and prints load-to-first-frame and the wasm CPU sort time per
// frame (median of 30 orbit frames), with WebGL2 (presented) and WebGPU (SwiftShader, offscreen:
// headless Chromium loses a SwiftShader device that presents a WebGPU canvas).
// Usage: node bench/viewer.mjs BASE_URL PATH...
import { chromium } from '@playwright/test';

const [base, ...paths] = process.argv.slice(2);
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM_PATH || '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-background-networking', '--disable-component-update',
    '--disable-sync', '--no-first-run', '--disable-quic', '--enable-unsafe-webgpu'],
});
const median = (v) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)];
for (const path of paths) {
  for (const renderer of ['webgl2', 'webgpu-offscreen']) {
    const loads = [];
    let sort = null;
    for (let run = 0; run < 3; run++) {
      // A fresh context each time: nothing cached.
      const context = await browser.newContext({ viewport: { width: 1280, height: 720 } });
      const page = await context.newPage();
      await page.goto(`${base}/view?url=${encodeURIComponent(path)}&renderer=${renderer}`);
      await page.waitForFunction(
        () => document.getElementById('viewer')?.dataset.firstFrameMs
          || document.getElementById('viewer')?.dataset.state === 'error',
        null, { timeout: 300_000, polling: 100 },
      );
      const state = await page.locator('#viewer').getAttribute('data-state');
      if (state === 'error') {
        console.log(`${path} ${renderer}: ${await page.locator('.spv-message').textContent()}`);
        await context.close();
        break;
      }
      loads.push(Number(await page.locator('#viewer').getAttribute('data-first-frame-ms')));
      // Sort times from the offscreen run, which sorts every frame but draws nothing: SwiftShader
      // takes seconds to draw a large scene, and the sort is what runs on the CPU in wasm.
      if (run === 0 && renderer === 'webgpu-offscreen') {
        await page.evaluate(async () => {
          for (let i = 0; i < 30; i++) {
            window.spaceportViewer.orbit(4, 0);
            await new Promise((r) => requestAnimationFrame(() => r()));
          }
        });
        const stats = JSON.parse(await page.evaluate(() => window.spaceportViewer.stats()));
        sort = stats.sort_ms_median;
      }
      await context.close();
    }
    if (loads.length) {
      const sortText = sort === null ? '' : `  wasm sort ${sort.toFixed(1).padStart(6)} ms/frame (median of 30)`;
      console.log(`${renderer.padEnd(16)} load-to-first-frame ${median(loads).toFixed(0).padStart(6)} ms (median of ${loads.length})${sortText}  ${path}`);
    }
  }
}
await browser.close();
