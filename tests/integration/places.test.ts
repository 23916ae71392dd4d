/**
 * Where a photo was taken (issue 26): GPS from EXIF (JPEG, HEIC, RAW) resolved offline to a city, region and country
 * from GeoNames data shipped in npm packages, stored with the photo, and searched by: `--near PLACE`, place words in
 * a query ("beach in Lisbon"), the place list behind the UI's filter, and the place on each result. Real CLI, real
 * SQLite, real decoder; GPS tags written by sharp.
 */
import Database from 'better-sqlite3';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { foldName, placeKey, placeLabel, placeParts } from '../../main/backend/places/fold';
import { placeAt } from '../../main/backend/places/gazetteer';
import { splitPlaceWords } from '../../main/backend/search/place-words';
import { heifEncAvailable, jpegWith, rawLike, writeHeic } from '../helpers/camera-files';
import { generateTestModel } from '../helpers/generate-model';
import { runCli } from '../helpers/run-cli';

/** Positions of the test photos: two in Lisbon, one in Sintra (Lisbon's region), one in Porto, one in Madrid, one at sea. */
const AT = {
  lisbon: { lat: 38.7105, lon: -9.1366 }, // Baixa, the old town
  lisbon2: { lat: 38.7223, lon: -9.1393 },
  sintra: { lat: 38.7979, lon: -9.3881 },
  porto: { lat: 41.1496, lon: -8.611 },
  madrid: { lat: 40.4168, lon: -3.7038 },
  sea: { lat: 35, lon: -45 },
};

describe('offline places', () => {
  it('resolves a position to the city a person would name, its region and country; none at sea', () => {
    expect(placeAt(AT.lisbon.lat, AT.lisbon.lon)).toMatchObject({ city: 'Lisbon', region: 'Lisbon', country: 'Portugal', countryCode: 'PT' });
    expect(placeAt(AT.sintra.lat, AT.sintra.lon)).toMatchObject({ city: 'Sintra', region: 'Lisbon', country: 'Portugal' });
    expect(placeAt(AT.porto.lat, AT.porto.lon)).toMatchObject({ city: 'Porto', country: 'Portugal' });
    expect(placeAt(AT.madrid.lat, AT.madrid.lon)).toMatchObject({ city: 'Madrid', country: 'Spain' });
    // A photo in Barcelona's Gràcia quarter is in Barcelona (quarters of a city are not places of their own).
    expect(placeAt(41.4036, 2.1566)).toMatchObject({ city: 'Barcelona', region: 'Catalonia', country: 'Spain' });
    expect(placeAt(AT.sea.lat, AT.sea.lon)).toBeNull();
  });

  it('folds names for matching and reads "City, Country"', () => {
    expect(foldName('São Paulo')).toBe('sao paulo');
    expect(placeParts(' Lisbon ,  PORTUGAL ')).toEqual(['lisbon', 'portugal']);
    expect(placeKey(['Lisbon', 'Lisbon', 'Portugal', 'PT', null])).toBe('|lisbon|portugal|pt|');
    expect(placeLabel({ city: 'Sintra', region: 'Lisbon', country: 'Portugal' })).toBe('Sintra, Lisbon, Portugal');
    expect(placeLabel({ city: 'Lisbon', region: 'Lisbon', country: 'Portugal' })).toBe('Lisbon, Portugal');
  });

  it('reads place words in a query only when the library knows the place', () => {
    const known = (n: string) => ['lisbon', 'portugal', 'new york'].includes(n);
    expect(splitPlaceWords('beach in Lisbon', known)).toEqual({ text: 'beach', near: 'Lisbon' });
    expect(splitPlaceWords('a dog in a park in lisbon, Portugal', known)).toEqual({ text: 'a dog in a park', near: 'lisbon, Portugal' });
    expect(splitPlaceWords('dinner near New York', known)).toEqual({ text: 'dinner', near: 'New York' });
    expect(splitPlaceWords('sunset at sea', known)).toBeNull();
    expect(splitPlaceWords('a dog in a park', known)).toBeNull();
    expect(splitPlaceWords('in Lisbon', known)).toBeNull(); // nothing left to search for
    expect(splitPlaceWords('beach + in Lisbon', known)).toBeNull(); // the algebra is taken as written
  });
});

describe('searching by place with the CLI', () => {
  let tmp: string;
  let env: NodeJS.ProcessEnv;
  let photos: string;
  const heif = heifEncAvailable();

  beforeAll(async () => {
    tmp = mkdtempSync(path.join(os.tmpdir(), 'ps-places-'));
    photos = path.join(tmp, 'photos');
    mkdirSync(photos, { recursive: true });
    const modelDir = path.join(tmp, 'model');
    await generateTestModel(modelDir, { seed: 3, knownWords: true });
    const picture = (r: number, g: number, b: number, w = 320, h = 240) => sharp({ create: { width: w, height: h, channels: 3, background: { r, g, b } } });
    const put = async (name: string, gps: { lat: number; lon: number } | undefined, rgb: [number, number, number]) =>
      writeFileSync(path.join(photos, name), await jpegWith(picture(rgb[0], rgb[1], rgb[2]), { date: '2023:07:01 12:00:00', gps }));
    await put('lisbon-baixa.jpg', AT.lisbon, [200, 180, 120]);
    await put('sintra.jpg', AT.sintra, [40, 120, 40]);
    await put('porto.jpg', AT.porto, [40, 40, 160]);
    await put('madrid.jpg', AT.madrid, [160, 40, 40]);
    await put('at-sea.jpg', AT.sea, [20, 60, 200]);
    await put('no-gps.jpg', undefined, [90, 90, 90]);
    writeFileSync(path.join(photos, 'lisbon.dng'), await rawLike('dng', await jpegWith(picture(210, 190, 130, 800, 600), { date: '2023:07:02 10:00:00', gps: AT.lisbon2 })));
    if (heif) writeHeic(await jpegWith(picture(220, 200, 140), { date: '2023:07:03 09:00:00', offset: '+01:00', gps: AT.lisbon2 }), path.join(photos, 'lisbon.heic'));
    env = { ...process.env, PHOTO_SEARCH_DATA: path.join(tmp, 'data'), PHOTO_SEARCH_MODEL_DIR: modelDir };
    const r = await runCli(['index', photos], { env, timeout: 180_000 });
    if (r.code !== 0) throw new Error(`index failed: ${r.stderr}`);
  }, 240_000);
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));

  const names = (stdout: string) => (JSON.parse(stdout) as { path: string }[]).map((h) => path.basename(h.path)).sort();
  const inLisbon = () => ['lisbon-baixa.jpg', 'lisbon.dng', 'sintra.jpg', ...(heif ? ['lisbon.heic'] : [])].sort();

  it('--near PLACE returns exactly the photos taken in or near it, with the place on each', async () => {
    const r = await runCli(['search', 'beach', '--near', 'Lisbon', '--top', '50', '--json'], { env });
    expect(r.code, r.stderr).toBe(0);
    expect(names(r.stdout)).toEqual(inLisbon());
    const places = new Map((JSON.parse(r.stdout) as { path: string; place: string }[]).map((h) => [path.basename(h.path), h.place]));
    expect(places.get('sintra.jpg')).toBe('Sintra, Lisbon, Portugal');
    expect(places.get('lisbon.dng')).toBe('Lisbon, Portugal');

    const country = await runCli(['search', 'beach', '--near', 'portugal', '--top', '50', '--json'], { env });
    expect(names(country.stdout)).toEqual([...inLisbon(), 'porto.jpg'].sort());
    const both = await runCli(['search', 'beach', '--near', 'Lisbon, PT', '--top', '50', '--json'], { env });
    expect(names(both.stdout)).toEqual(inLisbon());
  });

  it('reads "beach in Lisbon" as text + place, and says in one line when no photo was taken at a place', async () => {
    const r = await runCli(['search', 'beach', 'in', 'Lisbon', '--top', '50', '--json'], { env });
    expect(r.code, r.stderr).toBe(0);
    expect(names(r.stdout)).toEqual(inLisbon());
    const text = await runCli(['search', 'beach', '--near', 'Porto'], { env });
    expect(text.stdout).toMatch(/porto\.jpg {2}\(Porto, Portugal\)\n/);

    const none = await runCli(['search', 'beach', '--near', 'Atlantis'], { env });
    expect(none.code).toBe(1);
    expect(none.stderr.trim().split('\n')).toHaveLength(1);
    expect(none.stderr).toMatch(/No photo in the library was taken in or near "Atlantis"/);
  });

  it('reads the places of photos indexed before places existed, on the next index run', async () => {
    // As a library from before schema 6 has them: offsets, GPS and places never read.
    const db = new Database(path.join(tmp, 'data', 'library.db'));
    db.exec('UPDATE photos SET taken_offset = NULL, gps_lat = NULL, gps_lon = NULL, place_city = NULL, place_region = NULL, place_country = NULL, place_key = NULL, meta_version = 0');
    db.close();
    const before = await runCli(['search', 'beach', '--near', 'Lisbon'], { env });
    expect(before.code).toBe(1);
    const again = await runCli(['index', photos, '--json'], { env, timeout: 180_000 });
    expect(again.code, again.stderr).toBe(0);
    expect(JSON.parse(again.stdout)).toMatchObject({ added: 0, updated: 0 });
    const r = await runCli(['search', 'beach', '--near', 'Lisbon', '--top', '50', '--json'], { env });
    expect(names(r.stdout)).toEqual(inLisbon());
  }, 240_000);
});
