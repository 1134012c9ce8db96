// Photos that are not in a zip: a folder chosen with the picker, or files dropped on the page.
// The browser makes them into one stored ZIP without copying them; these tests catch the bytes
// on their way to the server and check the archive with Python's zipfile (every CRC verified).
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Page } from '@playwright/test';
import { expect, test } from './fixtures/test';
import { openNewProject } from './fixtures/spaceport';
import { FOUNTAIN } from './fixtures/photos';

/** Records every upload part the page sends (and lets it through); `archive()` joins them. */
async function recordParts(page: Page) {
  const parts = new Map<number, Buffer>();
  await page.route((url) => /^\/api\/uploads\/[^/]+\/parts\/\d+$/.test(url.pathname), async (route) => {
    const part = Number(new URL(route.request().url()).pathname.split('/').pop());
    parts.set(part, route.request().postDataBuffer() ?? Buffer.alloc(0));
    return route.continue();
  });
  return () => Buffer.concat([...parts.keys()].sort((a, b) => a - b).map((k) => parts.get(k)!));
}

/** The names in a ZIP, after Python's zipfile has checked every entry's CRC. */
function zipNames(bytes: Buffer): string[] {
  const file = join(mkdtempSync(join(tmpdir(), 'spaceport-sent-')), 'sent.zip');
  writeFileSync(file, bytes);
  const out = execFileSync('python3', [
    '-c',
    'import sys, zipfile, json; z = zipfile.ZipFile(sys.argv[1]); bad = z.testzip(); ' +
      'assert bad is None, bad; print(json.dumps(sorted(z.namelist())))',
    file,
  ]);
  return JSON.parse(out.toString());
}

/** A PNG of noise larger than the browser's 8 MiB read slice (so its CRC spans several). */
function bigPng(path: string) {
  execFileSync('python3', [
    '-c',
    'import os, struct, sys, zlib\n' +
      'w = h = 1800\n' +
      'raw = b"".join(b"\\0" + os.urandom(w * 3) for _ in range(h))\n' +
      'chunk = lambda t, d: struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d))\n' +
      'png = b"\\x89PNG\\r\\n\\x1a\\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)) + ' +
      'chunk(b"IDAT", zlib.compress(raw, 0)) + chunk(b"IEND", b"")\n' +
      'open(sys.argv[1], "wb").write(png)',
    path,
  ]);
}

test('a folder of photos uploads as one archive, other files left out', async ({ page }) => {
  test.setTimeout(120_000);
  const folder = join(mkdtempSync(join(tmpdir(), 'spaceport-folder-')), 'DJI_flight_12');
  mkdirSync(join(folder, 'second battery'), { recursive: true });
  for (const n of ['0002.jpg', '0003.jpg']) copyFileSync(join(FOUNTAIN, n), join(folder, n));
  copyFileSync(join(FOUNTAIN, '0004.jpg'), join(folder, 'second battery', '0004.jpg'));
  bigPng(join(folder, 'panorama.png'));
  writeFileSync(join(folder, 'flight-log.txt'), 'not a photo');

  await openNewProject(page, 'folder', 'Folder upload');
  const archive = await recordParts(page);
  await page.getByLabel('…or a whole folder of photos').setInputFiles(folder);
  await page.getByRole('button', { name: 'Upload' }).click();
  await expect(page.getByText('Photos uploaded', { exact: false }).first()).toBeVisible({ timeout: 90_000 });
  // What was left out is still said after the page reloads.
  await expect(page.getByTestId('upload-notice')).toContainText(
    'Uploaded 4 photos; left out 1 file(s) that are not JPEG or PNG: flight-log.txt',
  );
  expect(zipNames(archive())).toEqual(['0002.jpg', '0003.jpg', 'panorama.png', 'second battery/0004.jpg']);

  // The latest choice wins: photos picked after the folder replace it.
  const again = await recordParts(page);
  await page.getByLabel('Photos: a .zip, or the photos themselves').setInputFiles(join(FOUNTAIN, '0007.jpg'));
  await expect(page.getByLabel('…or a whole folder of photos')).toHaveValue('');
  const completed = page.waitForResponse((r) => /\/api\/uploads\/[^/]+\/complete$/.test(r.url()));
  await page.getByRole('button', { name: 'Upload' }).click();
  expect((await completed).status()).toBe(200);
  expect(zipNames(again())).toEqual(['0007.jpg']);
});

test('photos dropped on the page upload as one archive; a mix with a zip is refused', async ({ page }) => {
  test.setTimeout(120_000);
  await openNewProject(page, 'drop', 'Dropped photos');
  const archive = await recordParts(page);
  // Files travel into the page as base64 (a JSON array of numbers would take a minute).
  const photos = ['0005.jpg', '0006.jpg'].map((name) => ({
    name,
    base64: readFileSync(join(FOUNTAIN, name)).toString('base64'),
  }));
  const drop = async (files: { name: string; base64: string }[]) => {
    const dataTransfer = await page.evaluateHandle((list) => {
      const dt = new DataTransfer();
      for (const f of list) {
        const bytes = Uint8Array.from(atob(f.base64), (c) => c.charCodeAt(0));
        dt.items.add(new File([bytes], f.name, { type: 'image/jpeg' }));
      }
      return dt;
    }, files);
    await page.getByTestId('dropzone').dispatchEvent('drop', { dataTransfer });
  };

  await drop([...photos, { name: 'old.zip', base64: Buffer.from('PK\x05\x06').toString('base64') }]);
  await expect(page.getByRole('alert')).toContainText('choose one .zip, or photos');

  await drop(photos);
  await expect(page.getByText('Photos uploaded', { exact: false }).first()).toBeVisible({ timeout: 90_000 });
  expect(zipNames(archive())).toEqual(['0005.jpg', '0006.jpg']);
});
