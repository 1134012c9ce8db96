// Stands in for the internet's map services in end-to-end tests (tests never reach the
// internet): OSM-style raster tiles drawn at request time, Terrarium terrain tiles of level
// ground 100 m up (except east of Greenwich to 30° E, where the source fails, as a real one
// does now and then), and a Nominatim-compatible search that knows two places. Started by playwright.config.ts beside the server under test.
import { createServer } from 'node:http';
import { deflateSync } from 'node:zlib';

const port = Number(process.env.E2E_FIXTURE_PORT || 3108);

// PNG needs a CRC-32 on each chunk (node 20's zlib has none to offer).
const CRC = new Uint32Array(256).map((_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});
function crc32(bytes) {
  let c = 0xffffffff;
  for (const b of bytes) c = CRC[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}
function chunk(type, data) {
  const out = Buffer.alloc(12 + data.length);
  out.writeUInt32BE(data.length, 0);
  out.write(type, 4, 'latin1');
  data.copy(out, 8);
  out.writeUInt32BE(crc32(out.subarray(4, 8 + data.length)), 8 + data.length);
  return out;
}

// A 256-pixel RGB PNG, each pixel's colour from `colour(row, col)`.
function png(colour) {
  const size = 256;
  const raw = Buffer.alloc(size * (1 + size * 3));
  for (let row = 0; row < size; row++) {
    const at = row * (1 + size * 3);
    raw[at] = 0; // no filter
    for (let col = 0; col < size; col++) {
      const [r, g, b] = colour(row, col);
      raw[at + 1 + col * 3] = r;
      raw[at + 2 + col * 3] = g;
      raw[at + 3 + col * 3] = b;
    }
  }
  const header = Buffer.alloc(13);
  header.writeUInt32BE(size, 0);
  header.writeUInt32BE(size, 4);
  header[8] = 8; // bit depth
  header[9] = 2; // RGB
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', header),
    chunk('IDAT', deflateSync(raw)),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

// A map tile: a checkerboard colour by tile, with a darker border, so a screenshot shows the
// tiles' seams line up.
function mapTile(z, x, y) {
  const light = (x + y) % 2 === 0 ? [214, 232, 200] : [200, 220, 236];
  return png((row, col) => (row < 2 || col < 2 ? [120, 130, 140] : [light[0], light[1], (light[2] + z * 3) % 256]));
}

// Terrarium: height = (R·256 + G + B/256) − 32768 metres.
const GROUND_M = 100;
const level = Math.round((GROUND_M + 32768) * 256);
const terrainTile = png(() => [(level >> 16) & 255, (level >> 8) & 255, level & 255]);

const PLACES = [
  { match: /needle/i, lat: '47.6205063', lon: '-122.3492774', display_name: 'Space Needle, 400, Broad Street, Seattle, Washington, 98109, United States' },
  { match: /matterhorn/i, lat: '45.9765', lon: '7.6584', display_name: 'Matterhorn, Zermatt, Valais, Switzerland' },
];

// Every Referer tile requests came with, for the tests to read at /tile-referers.
const tileReferers = new Set();

createServer((req, res) => {
  const url = new URL(req.url, `http://127.0.0.1:${port}`);
  const t = url.pathname.match(/^\/tiles\/(\d+)\/(\d+)\/(\d+)\.png$/);
  const ground = url.pathname.match(/^\/terrain\/(\d+)\/(\d+)\/(\d+)\.png$/);
  if (t) {
    tileReferers.add(req.headers.referer || '(none)');
    res.writeHead(200, { 'content-type': 'image/png', 'cache-control': 'max-age=3600' });
    res.end(mapTile(Number(t[1]), Number(t[2]), Number(t[3])));
  } else if (ground) {
    const lon = (Number(ground[2]) / 2 ** Number(ground[1])) * 360 - 180;
    if (lon >= 0 && lon < 30) {
      res.writeHead(503);
      res.end();
    } else {
      res.writeHead(200, { 'content-type': 'image/png' });
      res.end(terrainTile);
    }
  } else if (url.pathname === '/search') {
    const q = url.searchParams.get('q') || '';
    const hits = PLACES.filter((p) => p.match.test(q)).map(({ match, ...p }) => ({ place_id: 1, ...p }));
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify(url.searchParams.get('format') === 'jsonv2' ? hits : { error: 'format' }));
  } else if (url.pathname === '/tile-referers') {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify([...tileReferers]));
  } else if (url.pathname === '/') {
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.end('map fixtures');
  } else {
    res.writeHead(404);
    res.end();
  }
}).listen(port, '127.0.0.1');
