import { readFileSync } from 'node:fs';
import { expect, test } from './fixtures/test';
import { DashboardPage, signUpAndSignIn, waitForHydration } from './fixtures/spaceport';

const LITCHI_HEADER =
  'latitude,longitude,altitude(ft),heading(deg),curvesize(ft),rotationdir,gimbalmode,gimbalpitchangle,' +
  'altitudemode,speed(m/s),poi_latitude,poi_longitude,poi_altitude(ft),poi_altitudemode,photo_timeinterval,photo_distinterval';

test('a pilot plans a flight, sees the picture follow the inputs and downloads battery 2', async ({ page }) => {
  await signUpAndSignIn(page, 'planner');
  await waitForHydration(page);
  const dashboard = new DashboardPage(page);
  await dashboard.createProject('Ridge farm');
  await dashboard.card('Ridge farm').getByRole('link').click();
  await expect(page.getByRole('heading', { level: 1, name: 'Ridge farm' })).toBeVisible();
  await waitForHydration(page);

  // No centre yet: the planner says what it needs instead of drawing — a hint, not an error.
  await expect(page.getByTestId('plan-hint')).toContainText('centre');
  await expect(page.getByTestId('plan-error')).toHaveCount(0);
  // A centre that is not one is an error.
  await page.getByLabel('Centre (latitude, longitude)').fill('north of the barn');
  await expect(page.getByTestId('plan-error')).toContainText('centre');

  await page.getByLabel('Centre (latitude, longitude)').fill('47.6205, -122.3493');
  const picture = page.getByTestId('plan-top-view');
  await expect(picture).toHaveAttribute('data-batteries', '3');
  await expect(picture).toHaveAttribute('data-waypoints', String(3 * 39));
  await expect(page.getByTestId('plan-summary')).toContainText('9 bounces');
  await expect(page.getByTestId('scale-bar')).toBeVisible();
  // The server reads the ground from its terrain tiles (a local stand-in: level, 100 m up), and
  // the page says the picture is what the files fly.
  await expect(page.getByTestId('terrain-ok')).toContainText('Heights follow the terrain');
  await expect(page.getByTestId('terrain-flat')).toHaveCount(0);

  // The picture follows the inputs as they are typed.
  await page.getByLabel('Batteries').fill('4');
  await expect(picture).toHaveAttribute('data-batteries', '4');
  await expect(page.getByTestId('plan-summary')).toContainText(/reaching 4[67]\d\d ft/);
  await page.getByLabel('Minutes per battery').fill('1');
  await expect(page.getByTestId('plan-error')).toContainText('too short');
  await expect(page.getByTestId('csv-1')).toHaveCount(0);
  await page.getByLabel('Minutes per battery').fill('20');
  await page.getByLabel('Batteries').fill('3');
  await expect(picture).toHaveAttribute('data-batteries', '3');

  // The inputs save themselves once typing pauses, and say so; a reload keeps them.
  const saveState = page.getByTestId('flight-save-state');
  await expect(saveState).toHaveAttribute('data-state', 'saved');
  await expect(saveState).toHaveText('All changes saved');
  await page.reload();
  await waitForHydration(page);
  await expect(page.getByLabel('Centre (latitude, longitude)')).toHaveValue(/^47\.6205(00)?, ?-122\.3493(00)?$/);
  await expect(page.getByLabel('Batteries')).toHaveValue('3');
  await expect(saveState).toHaveAttribute('data-state', 'saved');
  await page.getByLabel('Max height (ft above ground)').fill('300');
  await expect(saveState).toHaveAttribute('data-state', /unsaved|saving/);
  await expect(saveState).toHaveAttribute('data-state', 'saved');
  // The button saves at once, and counts the same.
  await page.getByLabel('Max height (ft above ground)').fill('350');
  await page.getByRole('button', { name: 'Save now' }).click();
  await expect(saveState).toHaveAttribute('data-state', 'saved');

  // The altitude profile switches between batteries.
  await page.getByRole('group', { name: 'Altitude profile of battery' }).getByRole('button', { name: '2' }).click();
  await expect(page.getByTestId('plan-profile')).toHaveAttribute('aria-label', 'Altitude profile of battery 2');

  const downloading = page.waitForEvent('download');
  await page.getByTestId('csv-2').click();
  const download = await downloading;
  expect(download.suggestedFilename()).toBe('ridge-farm-battery-2.csv');
  const lines = readFileSync(await download.path(), 'utf8').trim().split('\n');
  expect(lines[0]).toBe(LITCHI_HEADER);
  expect(lines.length).toBe(1 + 4 * 9 + 3);

  // The DJI mission for the aircraft the pilot picks: its enum values, a photo every 3 s.
  await page.getByLabel('DJI aircraft (for the KMZ)').selectOption('mavic-3e');
  await expect(page.getByTestId('kmz-1')).toHaveAttribute('href', /aircraft=mavic-3e/);
  const gettingKmz = page.waitForEvent('download');
  await page.getByTestId('kmz-1').click();
  const kmz = await gettingKmz;
  expect(kmz.suggestedFilename()).toBe('ridge-farm-battery-1.kmz');
  // Written without compression: the XML reads straight out of the archive.
  const archive = readFileSync(await kmz.path(), 'latin1');
  expect(archive).toContain('wpmz/waylines.wpml');
  expect(archive).toContain('<wpml:droneEnumValue>77</wpml:droneEnumValue><wpml:droneSubEnumValue>0</wpml:droneSubEnumValue>');
  expect(archive).toContain('<wpml:payloadEnumValue>66</wpml:payloadEnumValue>');
  expect(archive).toContain(
    '<wpml:actionTriggerType>multipleTiming</wpml:actionTriggerType><wpml:actionTriggerParam>3</wpml:actionTriggerParam>',
  );
  expect(archive.match(/takePhoto/g)?.length).toBe(2); // one timed group, in each of the two files

  // Where the terrain source fails, the page says, in a box the pilot cannot miss, that the
  // plan is on flat ground and why, and the files wait for the source.
  await page.getByLabel('Centre (latitude, longitude)').fill('45.9765, 7.6584');
  await expect(page.getByTestId('terrain-flat')).toContainText('This plan assumes flat ground');
  await expect(page.getByTestId('terrain-flat')).toContainText('could not be read');
  const refused = await page.request.get((await page.getByTestId('csv-1').getAttribute('href'))!);
  expect(refused.status()).toBe(400);
  expect(await refused.text()).toContain('could not be read');
  await page.getByLabel('Centre (latitude, longitude)').fill('47.6205, -122.3493');
  await expect(page.getByTestId('terrain-ok')).toBeVisible();

  // Downloading the plan moved the project on.
  await page.reload();
  await expect(page.getByText('Flight plan downloaded').first()).toBeVisible();
});
