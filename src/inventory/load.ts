// Reading the operator's inventory (CSV or NDJSON) and revocation list into the shared
// model (model.ts). Every problem in a file is collected, one line each with the row or
// line and the field, and a file with any problem is rejected as a whole: a half-loaded
// inventory would call enrolled devices unknown.

import { readFile } from 'node:fs/promises';
import { basename, extname } from 'node:path';
import { MAX_DEVICE_ID_BYTES, MAX_STRING_BYTES } from '../core/layout';
import { EnrolledCredential, InventoryDevice, packFirmware, parseSourceRule, SourceRule } from './model';
import { parseCsv } from './csv';

/** CSV columns, in the order `inventory learn` writes them. */
export const INVENTORY_COLUMNS = ['deviceId', 'credential', 'issuedAt', 'expiresAt', 'sources', 'minFirmware', 'class', 'owner', 'site'] as const;
type Column = (typeof INVENTORY_COLUMNS)[number];
const NDJSON_FIELDS = ['deviceId', 'credentials', 'sources', 'minFirmware', 'class', 'owner', 'site'] as const;
const LABELS = ['class', 'owner', 'site'] as const;
type Label = (typeof LABELS)[number];

/** Past this many, further problems are only counted (a wrong file must not flood the log). */
export const MAX_PROBLEMS = 200;

/** A file that cannot be used; `problems` has one line per problem. */
export class InventoryError extends Error {
  readonly code = 'INVENTORY_INVALID';
  constructor(
    readonly file: string,
    readonly problems: string[],
  ) {
    // each problem already names the file
    super(problems.length === 1 ? problems[0] : `${file}: ${problems.length} problems:\n  ${problems.join('\n  ')}`);
  }
}

export type InventoryFormat = 'csv' | 'ndjson';

/** By extension (.csv, .ndjson, .jsonl), else by the first character that is not blank. */
export function inventoryFormat(path: string, text: string): InventoryFormat {
  const ext = extname(path).toLowerCase();
  if (ext === '.csv') return 'csv';
  if (ext === '.ndjson' || ext === '.jsonl') return 'ndjson';
  return /^\uFEFF?\s*\{/.test(text) ? 'ndjson' : 'csv';
}

/** Read and validate an inventory file. Throws InventoryError (or the read error, worded). */
export async function readInventoryFile(path: string): Promise<Map<string, InventoryDevice>> {
  const text = await readText(path);
  return parseInventory(text, basename(path), inventoryFormat(path, text));
}

/** Read and validate a revocation list. */
export async function readRevokedFile(path: string): Promise<Set<string>> {
  return parseRevoked(await readText(path), basename(path));
}

async function readText(path: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    throw new InventoryError(basename(path), [err.code === 'ENOENT' ? `${path} does not exist` : `cannot read ${path}: ${err.code ?? err.message}`]);
  }
}

/** Parse an inventory; `name` prefixes every problem. Without a format, it is sniffed. */
export function parseInventory(text: string, name: string, format: InventoryFormat | undefined = undefined): Map<string, InventoryDevice> {
  const problems = new Problems();
  const merger = new Merger(problems);
  const fmt = format ?? inventoryFormat(name, text);
  if (fmt === 'csv') readCsv(text, name, problems, merger);
  else readNdjson(text, name, problems, merger);
  if (problems.list.length) throw new InventoryError(name, problems.done());
  return merger.devices;
}

/** One credential id per line; `#` starts a comment; blank lines are fine. */
export function parseRevoked(text: string, name: string): Set<string> {
  const problems = new Problems();
  const out = new Set<string>();
  text.replace(/^\uFEFF/, '').split(/\r?\n/).forEach((raw, i) => {
    const t = raw.replace(/(^|\s)#.*$/, '').trim();
    if (t === '') return;
    if (/\s/.test(t)) problems.add(`${name} line ${i + 1}: "${t}" holds whitespace; list one credential id per line`);
    else if (Buffer.byteLength(t) > MAX_STRING_BYTES) problems.add(`${name} line ${i + 1}: longer than ${MAX_STRING_BYTES} bytes`);
    else out.add(t);
  });
  if (problems.list.length) throw new InventoryError(name, problems.done());
  return out;
}

class Problems {
  readonly list: string[] = [];
  private more = 0;
  add(line: string): void {
    if (this.list.length < MAX_PROBLEMS) this.list.push(line);
    else this.more++;
  }
  done(): string[] {
    return this.more ? [...this.list, `… and ${this.more} more problems`] : this.list;
  }
}

/** What one row (or NDJSON line) says about a device; `at` words its place for messages. */
interface Entry {
  at: string;
  /** `at` without the file name ("row 12"), for "(first on row 12)". */
  place: string;
  deviceId: string;
  credentials: { credential: EnrolledCredential; at: string }[];
  sources: SourceRule[];
  minFirmware?: string;
  labels: Partial<Record<Label, string>>;
}

/** Rows for the same device merge; what they cannot both say is a problem. */
class Merger {
  readonly devices = new Map<string, InventoryDevice>();
  private readonly firstAt = new Map<string, string>(); // `${deviceId}\0${field}` → the place it was set
  constructor(private readonly problems: Problems) {}

  add(e: Entry): void {
    let d = this.devices.get(e.deviceId);
    if (!d) {
      d = { deviceId: e.deviceId, credentials: [], sources: [] };
      this.devices.set(e.deviceId, d);
    }
    for (const { credential, at } of e.credentials) {
      const key = `${e.deviceId}\0cred\0${credential.id}`;
      const before = this.firstAt.get(key);
      if (before) this.problems.add(`${at}: "${credential.id}" is listed twice for device "${e.deviceId}" (first on ${before})`);
      else {
        this.firstAt.set(key, e.place);
        d.credentials.push(credential);
      }
    }
    for (const s of e.sources) if (!d.sources.some((x) => x.text === s.text)) d.sources.push(s);
    this.single(d, e, 'minFirmware', e.minFirmware);
    for (const l of LABELS) this.single(d, e, l, e.labels[l]);
  }

  private single(d: InventoryDevice, e: Entry, field: 'minFirmware' | Label, value: string | undefined): void {
    if (value === undefined) return;
    const have = d[field];
    if (have === undefined) {
      d[field] = value;
      this.firstAt.set(`${d.deviceId}\0${field}`, e.place);
    } else if (have !== value) {
      this.problems.add(`${e.at}, ${field}: "${value}" differs from "${have}" given for device "${d.deviceId}" on ${this.firstAt.get(`${d.deviceId}\0${field}`)}`);
    }
  }
}

// ---- CSV ----

function readCsv(text: string, name: string, problems: Problems, merger: Merger): void {
  const { records, problems: syntax } = parseCsv(text);
  for (const p of syntax) problems.add(`${name} row ${p.line}: ${p.message}`);
  const header = records.shift();
  if (!header) {
    if (!syntax.length) problems.add(`${name}: no header row (expected columns: ${INVENTORY_COLUMNS.join(',')})`);
    return;
  }
  const index = new Map<Column, number>();
  const unknown: string[] = [];
  header.fields.forEach((raw, i) => {
    const h = raw.trim();
    const col = INVENTORY_COLUMNS.find((c) => c.toLowerCase() === h.toLowerCase());
    if (!col) unknown.push(`"${h}"`);
    else if (index.has(col)) problems.add(`${name} row ${header.line}: column ${col} appears twice`);
    else index.set(col, i);
  });
  if (unknown.length) problems.add(`${name} row ${header.line}: unknown column${unknown.length > 1 ? 's' : ''} ${unknown.join(', ')} (known: ${INVENTORY_COLUMNS.join(', ')})`);
  if (!index.has('deviceId')) problems.add(`${name} row ${header.line}: the header has no deviceId column`);
  if (unknown.length || !index.has('deviceId')) return; // every row would be misread

  for (const r of records) {
    const at = `${name} row ${r.line}`;
    if (r.fields.length !== header.fields.length) {
      problems.add(`${at}: ${r.fields.length} fields, the header has ${header.fields.length}`);
      continue;
    }
    const get = (c: Column): string => {
      const i = index.get(c);
      return i === undefined ? '' : r.fields[i].trim();
    };
    const here = new Problems();
    const field = (f: string, msg: string) => here.add(`${at}, ${f}: ${msg}`);
    const deviceId = checkDeviceId(get('deviceId'), field);
    const credentialId = get('credential');
    const credentials: Entry['credentials'] = [];
    if (credentialId !== '') {
      const c = checkCredential(credentialId, get('issuedAt') || undefined, get('expiresAt') || undefined, (f, m) => field(f, m));
      if (c) credentials.push({ credential: c, at: `${at}, credential` });
    } else {
      for (const f of ['issuedAt', 'expiresAt'] as const) if (get(f) !== '') field(f, 'given without a credential');
    }
    const sources = checkSources(
      get('sources')
        .split(';')
        .map((s) => s.trim())
        .filter(Boolean),
      field,
    );
    const minFirmware = checkFirmware(get('minFirmware') || undefined, field);
    const labels: Entry['labels'] = {};
    for (const l of LABELS) if (get(l) !== '') labels[l] = get(l);
    for (const p of here.list) problems.add(p);
    if (deviceId !== undefined && here.list.length === 0) merger.add({ at, place: `row ${r.line}`, deviceId, credentials, sources, minFirmware, labels });
  }
}

// ---- NDJSON ----

function readNdjson(text: string, name: string, problems: Problems, merger: Merger): void {
  text.replace(/^\uFEFF/, '').split('\n').forEach((raw, i) => {
    const line = raw.trim();
    if (line === '') return;
    const at = `${name} line ${i + 1}`;
    let o: unknown;
    try {
      o = JSON.parse(line);
    } catch (e) {
      problems.add(`${at}: not JSON (${(e as Error).message})`);
      return;
    }
    if (typeof o !== 'object' || o === null || Array.isArray(o)) {
      problems.add(`${at}: not a JSON object`);
      return;
    }
    const rec = o as Record<string, unknown>;
    const unknown = Object.keys(rec).filter((k) => !(NDJSON_FIELDS as readonly string[]).includes(k));
    if (unknown.length) problems.add(`${at}: unknown field${unknown.length > 1 ? 's' : ''} ${unknown.map((k) => `"${k}"`).join(', ')} (known: ${NDJSON_FIELDS.join(', ')})`);
    const here = new Problems();
    const field = (f: string, msg: string) => here.add(`${at}, ${f}: ${msg}`);
    const str = (f: string, v: unknown): string | undefined => {
      if (v === undefined || v === null) return undefined;
      if (typeof v !== 'string') {
        field(f, `must be a string, got ${JSON.stringify(v)}`);
        return undefined;
      }
      return v.trim() === '' ? undefined : v.trim();
    };
    const deviceId = typeof rec.deviceId === 'string' ? checkDeviceId(rec.deviceId.trim(), field) : (field('deviceId', rec.deviceId === undefined ? 'is required' : `must be a string, got ${JSON.stringify(rec.deviceId)}`), undefined);

    const credentials: Entry['credentials'] = [];
    if (rec.credentials !== undefined && rec.credentials !== null) {
      if (!Array.isArray(rec.credentials)) field('credentials', 'must be an array of {"id","issuedAt","expiresAt"}');
      else
        rec.credentials.forEach((c, k) => {
          const f = `credentials[${k}]`;
          if (typeof c === 'string') c = { id: c };
          if (typeof c !== 'object' || c === null || Array.isArray(c)) return field(f, 'must be an object {"id","issuedAt","expiresAt"} or a string');
          const cr = c as Record<string, unknown>;
          const extra = Object.keys(cr).filter((x) => !['id', 'issuedAt', 'expiresAt'].includes(x));
          if (extra.length) field(f, `unknown field${extra.length > 1 ? 's' : ''} ${extra.map((x) => `"${x}"`).join(', ')} (known: id, issuedAt, expiresAt)`);
          const id = str(`${f}.id`, cr.id);
          if (id === undefined) return cr.id === undefined || typeof cr.id === 'string' ? field(`${f}.id`, 'is required') : undefined;
          const time = (t: 'issuedAt' | 'expiresAt'): string | undefined => {
            const v = cr[t];
            if (v === undefined || v === null) return undefined;
            if (typeof v === 'number') return String(v);
            if (typeof v === 'string') return v.trim() || undefined;
            field(`${f}.${t}`, `must be an ISO-8601 string or ms, got ${JSON.stringify(v)}`);
            return undefined;
          };
          const checked = checkCredential(id, time('issuedAt'), time('expiresAt'), (g, m) => field(`${f}.${g === 'credential' ? 'id' : g}`, m));
          if (checked) credentials.push({ credential: checked, at: `${at}, ${f}` });
        });
    }

    let sourceTexts: string[] = [];
    if (rec.sources !== undefined && rec.sources !== null) {
      if (!Array.isArray(rec.sources) || rec.sources.some((s) => typeof s !== 'string')) field('sources', 'must be an array of strings ("10.20.0.0/16", "gw-eu-1")');
      else sourceTexts = (rec.sources as string[]).map((s) => s.trim());
    }
    const sources = checkSources(sourceTexts, field);
    const minFirmware = checkFirmware(str('minFirmware', rec.minFirmware), field);
    const labels: Entry['labels'] = {};
    for (const l of LABELS) {
      const v = str(l, rec[l]);
      if (v !== undefined) labels[l] = v;
    }
    for (const p of here.list) problems.add(p);
    if (deviceId !== undefined && here.list.length === 0 && unknown.length === 0) merger.add({ at, place: `line ${i + 1}`, deviceId, credentials, sources, minFirmware, labels });
  });
}

// ---- fields (shared by both formats) ----

type FieldProblem = (field: string, message: string) => void;

function checkDeviceId(id: string, problem: FieldProblem): string | undefined {
  if (id === '') return problem('deviceId', 'is required'), undefined;
  const bytes = Buffer.byteLength(id);
  if (bytes > MAX_DEVICE_ID_BYTES) return problem('deviceId', `is ${bytes} bytes long, at most ${MAX_DEVICE_ID_BYTES} are allowed`), undefined;
  return id;
}

function checkCredential(id: string, issued: string | undefined, expires: string | undefined, problem: FieldProblem): EnrolledCredential | undefined {
  let ok = true;
  if (Buffer.byteLength(id) > MAX_STRING_BYTES) {
    problem('credential', `is longer than ${MAX_STRING_BYTES} bytes (telemetry could never carry it)`);
    ok = false;
  }
  const c: EnrolledCredential = { id };
  for (const [f, text] of [
    ['issuedAt', issued],
    ['expiresAt', expires],
  ] as const) {
    if (text === undefined) continue;
    const t = parseTime(text);
    if (typeof t === 'string') {
      problem(f, `"${text}" ${t}`);
      ok = false;
    } else c[f] = t;
  }
  if (ok && c.issuedAt !== undefined && c.expiresAt !== undefined && c.expiresAt <= c.issuedAt) {
    problem('expiresAt', `"${expires}" is not after issuedAt "${issued}"`);
    ok = false;
  }
  return ok ? c : undefined;
}

function checkSources(texts: string[], problem: FieldProblem): SourceRule[] {
  const out: SourceRule[] = [];
  for (const t of texts) {
    try {
      out.push(parseSourceRule(t));
    } catch (e) {
      problem('sources', (e as Error).message);
    }
  }
  return out;
}

function checkFirmware(text: string | undefined, problem: FieldProblem): string | undefined {
  if (text === undefined) return undefined;
  try {
    packFirmware(text);
    return text;
  } catch (e) {
    problem('minFirmware', (e as Error).message);
    return undefined;
  }
}

const ISO = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})?)?$/i;

/**
 * ms since the epoch (digits), or an ISO-8601 date (midnight UTC) or date-time with a
 * zone → ms; otherwise the reason it is not a time. A date-time without a zone is
 * refused: it would mean a different instant on every machine's time zone.
 */
export function parseTime(text: string): number | string {
  const t = text.trim();
  if (/^\d{1,15}$/.test(t)) return Number(t);
  const m = ISO.exec(t);
  if (!m) return 'is not a date (ISO-8601 such as 2026-01-31T00:00:00Z, or ms since the epoch)';
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
  if (mo < 1 || mo > 12 || d < 1 || d > new Date(Date.UTC(y, mo, 0)).getUTCDate()) return 'is not a date';
  if (m[4] !== undefined && (Number(m[4]) > 23 || Number(m[5]) > 59 || Number(m[6] ?? 0) > 59)) return 'is not a time of day';
  if (m[4] !== undefined && m[7] === undefined) return 'has no time zone (add Z for UTC, or +hh:mm)';
  const ms = Date.parse(m[4] === undefined ? `${m[1]}-${m[2]}-${m[3]}T00:00:00Z` : t.replace(' ', 'T'));
  return Number.isNaN(ms) ? 'is not a date' : ms;
}
