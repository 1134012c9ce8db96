// The flight page's map: the pilot finds the site by searching, clicking, dragging, with the
// keyboard alone and on a phone, and the "lat, lon" field follows every one of them. Tiles and
// the place search come from servers/map-fixtures.mjs (tests never reach the internet).
import { Page } from '@playwright/test';
import { expect, test } from './fixtures/test';
import { openNewProject, waitForHydration } from './fixtures/spaceport';

/** Degrees of longitude one pixel spans at a zoom (Web Mercator, 256-pixel tiles). */
const lonPerPx = (zoom: number) => 360 / (256 * 2 ** zoom);

/** The centre field's value as numbers. */
async function centre(page: Page): Promise<[number, number]> {
  const text = await page.getByLabel('Centre (latitude, longitude)').inputValue();
  const [lat, lon] = text.split(',').map(Number);
  return [lat, lon];
}

/** A longitude difference in pixels at a zoom must be `px`, give or take rounding to pixels. */
function expectPx(dLon: number, zoom: number, px: number) {
  expect(Math.abs(dLon / lonPerPx(zoom) - px)).toBeLessThan(1.5);
}

async function markerAt(page: Page) {
  const box = (await page.getByTestId('map-marker').boundingBox())!;
  return { x: box.x + box.width / 2, y: box.y + box.height / 2 };
}

test('a pilot finds the site by searching, then moves the centre with the mouse and the keyboard', async ({ page }) => {
  await openNewProject(page, 'mapper', 'Needle survey');
  const map = page.getByTestId('site-map');
  const surface = page.getByTestId('map-surface');
  await expect(map).toHaveAttribute('data-zoom', '2');
  await expect(page.getByTestId('map-marker')).toBeHidden();
  // Tiles load from the configured server, under the page's Content-Security-Policy.
  await expect(map.locator('img.map-tile').first()).toHaveJSProperty('naturalWidth', 256);
  await expect(map).toContainText('© Test tiles');
  // Tile servers are told which site asks (public ones refuse requests without a Referer), and
  // nothing more: not the page, whose address names the project.
  const fixtures = `http://127.0.0.1:${process.env.E2E_FIXTURE_PORT}`;
  const referers = await (await page.request.get(`${fixtures}/tile-referers`)).json();
  expect(referers).toEqual([`${new URL(page.url()).origin}/`]);

  // Search: nothing for nonsense, then the place.
  await page.getByLabel('Find an address or a place').fill('nowhere at all');
  await page.getByLabel('Find an address or a place').press('Enter');
  await expect(page.getByTestId('place-none')).toBeVisible();
  await page.getByLabel('Find an address or a place').fill('Space Needle');
  await page.getByRole('button', { name: 'Search', exact: true }).click();
  await page.getByTestId('place-result').first().click();
  await expect(page.getByLabel('Centre (latitude, longitude)')).toHaveValue('47.620506, -122.349277');
  await expect(page.getByTestId('place-picked')).toContainText('Space Needle');
  // The map went to it, the plan is drawn over it (three batteries), the marker on the centre.
  await expect(map).toHaveAttribute('data-zoom', '15');
  await expect(map.locator('.map-plan polyline')).toHaveCount(3);
  await expect(map.locator('.map-plan circle.map-hold')).toHaveCount(1);
  const box = (await surface.boundingBox())!;
  let m = await markerAt(page);
  expect(Math.abs(m.x - (box.x + box.width / 2))).toBeLessThan(2);
  expect(Math.abs(m.y - (box.y + box.height / 2))).toBeLessThan(2);

  // A click puts the centre there: 100 px east is 100 px of longitude at zoom 15.
  const [lat0, lon0] = await centre(page);
  await page.mouse.click(m.x + 100, m.y);
  let [lat, lon] = await centre(page);
  expectPx(lon - lon0, 15, 100);
  expect(lat).toBeCloseTo(lat0, 4);
  m = await markerAt(page);
  expect(Math.abs(m.x - (box.x + box.width / 2 + 100))).toBeLessThan(2);

  // Dragging the marker moves the centre with it (south-west here).
  await page.mouse.move(m.x, m.y);
  await page.mouse.down();
  await page.mouse.move(m.x - 30, m.y + 20, { steps: 4 });
  await page.mouse.move(m.x - 60, m.y + 40, { steps: 4 });
  await page.mouse.up();
  let [lat2, lon2] = await centre(page);
  expectPx(lon2 - lon, 15, -60);
  expect(lat2).toBeLessThan(lat);
  // Taken to the map's edge, the marker stays under the pointer: the map does not jump.
  m = await markerAt(page);
  const edge = { x: box.x + box.width - 12, y: m.y };
  await page.mouse.move(m.x, m.y);
  await page.mouse.down();
  await page.mouse.move(edge.x, edge.y, { steps: 8 });
  await page.mouse.up();
  await expect(map).toHaveAttribute('data-zoom', '15');
  m = await markerAt(page);
  expect(Math.abs(m.x - edge.x)).toBeLessThan(2);
  // ...and back to where it was.
  await page.mouse.move(edge.x, edge.y);
  await page.mouse.down();
  await page.mouse.move(edge.x - 100, edge.y, { steps: 4 });
  await page.mouse.up();
  [lat2, lon2] = await centre(page);

  // Dragging the map pans it and leaves the centre alone; the marker rides along.
  m = await markerAt(page);
  const grab = { x: box.x + box.width * 0.75, y: box.y + 40 };
  await page.mouse.move(grab.x, grab.y);
  await page.mouse.down();
  await page.mouse.move(grab.x + 50, grab.y + 20, { steps: 5 });
  await page.mouse.up();
  expect(await centre(page)).toEqual([lat2, lon2]);
  const moved = await markerAt(page);
  expect(Math.abs(moved.x - m.x - 50)).toBeLessThan(1.5);
  expect(Math.abs(moved.y - m.y - 20)).toBeLessThan(1.5);

  // The wheel zooms (one step a notch).
  await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
  await page.mouse.wheel(0, -120);
  await expect(map).toHaveAttribute('data-zoom', '16');
  await page.waitForTimeout(300);
  await page.mouse.wheel(0, 120);
  await expect(map).toHaveAttribute('data-zoom', '15');

  // Keyboard only: Tab from the search reaches the map; Enter puts the centre under the
  // crosshair, arrows move the map under it.
  await page.getByLabel('Find an address or a place').focus();
  await page.keyboard.press('Tab');
  await page.keyboard.press('Tab');
  await expect(surface).toBeFocused();
  await page.keyboard.press('Enter');
  const [, lonA] = await centre(page);
  await page.keyboard.press('ArrowRight');
  await page.keyboard.press('ArrowRight');
  await page.keyboard.press('Enter');
  const [, lonB] = await centre(page);
  expectPx(lonB - lonA, 15, 160);
  await page.keyboard.press('+');
  await expect(map).toHaveAttribute('data-zoom', '16');

  // Typing a centre far away brings the map to it.
  await page.getByLabel('Centre (latitude, longitude)').fill('45.9765, 7.6584');
  await expect(map).toHaveAttribute('data-zoom', '16');
  m = await markerAt(page);
  expect(Math.abs(m.x - (box.x + box.width / 2))).toBeLessThan(2);
  // Whatever set it, the inputs save themselves; the page drawn by the server opens the map on
  // the saved centre.
  await expect(page.getByTestId('flight-save-state')).toHaveAttribute('data-state', 'saved');
  await page.reload();
  await waitForHydration(page);
  await expect(map).toHaveAttribute('data-zoom', '15');
  await expect(map.locator('img.map-tile').first()).toHaveJSProperty('naturalWidth', 256);
  m = await markerAt(page);
  const after = (await surface.boundingBox())!;
  expect(Math.abs(m.x - (after.x + after.width / 2))).toBeLessThan(2);
  expect(Math.abs(m.y - (after.y + after.height / 2))).toBeLessThan(2);
});

test('when the tiles cannot load, the map says so and the centre field still plans', async ({ page }) => {
  await page.route('**/tiles/**', (route) => route.abort());
  await openNewProject(page, 'offline', 'No tiles');
  await expect(page.getByTestId('map-failed')).toContainText('could not load');
  await expect(page.getByTestId('map-surface')).toHaveCount(0);
  await page.getByLabel('Centre (latitude, longitude)').fill('47.6205, -122.3493');
  await expect(page.getByTestId('plan-summary')).toContainText('bounces');
});

test.describe('on a phone', () => {
  test.use({ viewport: { width: 390, height: 844 }, hasTouch: true, isMobile: true });

  test('a tap places the centre, a finger pans and two fingers zoom', async ({ page }) => {
    await openNewProject(page, 'thumb', 'Phone survey');
    await page.getByLabel('Centre (latitude, longitude)').fill('47.6205, -122.3493');
    const map = page.getByTestId('site-map');
    await expect(map).toHaveAttribute('data-zoom', '15');
    const surface = page.getByTestId('map-surface');
    await surface.scrollIntoViewIfNeeded();
    const box = (await surface.boundingBox())!;
    const mid = { x: box.x + box.width / 2, y: box.y + box.height / 2 };

    await page.touchscreen.tap(mid.x + 60, mid.y);
    const [, lon] = await centre(page);
    expectPx(lon - -122.3493, 15, 60);

    // Raw touches through the DevTools protocol: a one-finger pan, then a pinch apart.
    const cdp = await page.context().newCDPSession(page);
    const touch = (type: string, points: { x: number; y: number }[]) =>
      cdp.send('Input.dispatchTouchEvent', {
        type,
        touchPoints: points.map((p, id) => ({ x: p.x, y: p.y, id })),
      });
    const before = await markerAt(page);
    await touch('touchStart', [{ x: mid.x - 80, y: mid.y + 40 }]);
    for (let i = 1; i <= 5; i++) await touch('touchMove', [{ x: mid.x - 80 + 10 * i, y: mid.y + 40 }]);
    await touch('touchEnd', []);
    const after = await markerAt(page);
    expect(Math.abs(after.x - before.x - 50)).toBeLessThan(1.5);
    expect((await centre(page))[1]).toBe(lon);

    await touch('touchStart', [{ x: mid.x - 20, y: mid.y }, { x: mid.x + 20, y: mid.y }]);
    for (let i = 1; i <= 6; i++) {
      await touch('touchMove', [{ x: mid.x - 20 - 10 * i, y: mid.y }, { x: mid.x + 20 + 10 * i, y: mid.y }]);
    }
    await touch('touchEnd', []);
    await expect(map).toHaveAttribute('data-zoom', /^1[67]$/);
    expect((await centre(page))[1]).toBe(lon);
  });
});
