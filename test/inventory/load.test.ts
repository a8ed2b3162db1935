// Loading and validating inventory files: both formats, RFC 4180 quoting, and every
// malformed row reported with its row (or line) and field.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseCsv } from '../../src/inventory/csv';
import { inventoryFormat, InventoryError, MAX_PROBLEMS, parseInventory, parseRevoked, parseTime } from '../../src/inventory/load';

const HEADER = 'deviceId,credential,issuedAt,expiresAt,sources,minFirmware,class,owner,site';

function problemsOf(f: () => unknown): string[] {
  try {
    f();
  } catch (e) {
    assert.ok(e instanceof InventoryError, `an InventoryError, got ${(e as Error).message}`);
    return e.problems;
  }
  assert.fail('expected the file to be rejected');
}

test('CSV: rows merge per device; times, sources, firmware and labels parsed', () => {
  const devices = parseInventory(
    [
      HEADER,
      'thermo-1,sha256:aa,2026-01-01,2026-07-01T00:00:00Z,10.20.0.0/16;gw-eu-1,2.4.0,thermostat,facilities,eu-1',
      'thermo-1,sha256:bb,1767225600000,,10.20.0.0/16,2.4.0,,,',
      'meter-7,,,,,,,,',
    ].join('\n'),
    'inventory.csv',
  );
  assert.deepEqual([...devices.keys()], ['thermo-1', 'meter-7']);
  const t = devices.get('thermo-1')!;
  assert.deepEqual(t.credentials, [
    { id: 'sha256:aa', issuedAt: Date.UTC(2026, 0, 1), expiresAt: Date.UTC(2026, 6, 1) },
    { id: 'sha256:bb', issuedAt: 1767225600000 },
  ]);
  assert.deepEqual(
    t.sources.map((s) => s.text),
    ['10.20.0.0/16', 'gw-eu-1'],
  );
  assert.deepEqual(t.sources[0], { kind: 'ipv4', text: '10.20.0.0/16', network: (10 << 24) | (20 << 16), prefix: 16 });
  assert.equal(t.minFirmware, '2.4.0');
  assert.deepEqual([t.class, t.owner, t.site], ['thermostat', 'facilities', 'eu-1']);
  assert.deepEqual(devices.get('meter-7'), { deviceId: 'meter-7', credentials: [], sources: [] });
});

test('CSV: a subset of columns in any order (header names are case-insensitive), CRLF, BOM', () => {
  const devices = parseInventory('\uFEFFCredential,DEVICEID\r\nc1,d1\r\n\r\nc2,d2\r\n', 'x.csv');
  assert.deepEqual(
    [...devices.values()].map((d) => [d.deviceId, d.credentials.map((c) => c.id)]),
    [
      ['d1', ['c1']],
      ['d2', ['c2']],
    ],
  );
});

test('CSV quoting (RFC 4180): commas, doubled quotes and line breaks inside quotes', () => {
  const { records, problems } = parseCsv('a,b,c\n"x,1","say ""hi""","two\nlines"\nplain,,"" \n');
  assert.deepEqual(problems, []);
  assert.deepEqual(records, [
    { line: 1, fields: ['a', 'b', 'c'] },
    { line: 2, fields: ['x,1', 'say "hi"', 'two\nlines'] },
    { line: 4, fields: ['plain', '', ''] },
  ]);
  // row numbers after a quoted line break still point at the right line
  const bad = problemsOf(() => parseInventory(`${HEADER}\n"dev,1","cred\nwith a break",,,,,,,\nd2,c2,yesterday,,,,,,\n`, 'inv.csv'));
  assert.deepEqual(bad, ['inv.csv row 4, issuedAt: "yesterday" is not a date (ISO-8601 such as 2026-01-31T00:00:00Z, or ms since the epoch)']);
  const owner = parseInventory('deviceId,owner\n"d ""1""","Ops, EU"\n', 'q.csv').get('d "1"');
  assert.equal(owner?.owner, 'Ops, EU');
});

test('CSV syntax errors: unclosed quote, text after a closing quote, stray quote', () => {
  assert.deepEqual(parseCsv('a\n"open\nmore').problems, [{ line: 2, message: 'a quoted field is not closed (the quote opened on line 2 runs to the end of the file)' }]);
  assert.deepEqual(parseCsv('"a"b,c\n').problems.map((p) => p.line), [1]);
  assert.match(parseCsv('a,b"c\n').problems[0].message, /a quote inside an unquoted field/);
});

// Each malformed row and the one line it must produce.
const MALFORMED: [string, string, string][] = [
  ['bad month', 'd1,c1,2026-13-01,,,,,,', 'inv.csv row 2, issuedAt: "2026-13-01" is not a date'],
  ['day past month end', 'd1,c1,,2026-02-30,,,,,', 'inv.csv row 2, expiresAt: "2026-02-30" is not a date'],
  ['no time zone', 'd1,c1,2026-01-01T10:00:00,,,,,,', 'inv.csv row 2, issuedAt: "2026-01-01T10:00:00" has no time zone (add Z for UTC, or +hh:mm)'],
  ['expiry before issue', 'd1,c1,2026-02-01,2026-01-01,,,,,', 'inv.csv row 2, expiresAt: "2026-01-01" is not after issuedAt "2026-02-01"'],
  ['times without a credential', 'd1,,2026-02-01,,,,,,', 'inv.csv row 2, issuedAt: given without a credential'],
  ['missing deviceId', ',c1,,,,,,,', 'inv.csv row 2, deviceId: is required'],
  ['deviceId too long', `${'x'.repeat(129)},c1,,,,,,,`, 'inv.csv row 2, deviceId: is 129 bytes long, at most 128 are allowed'],
  ['deviceId too long in bytes', `${'é'.repeat(65)},c1,,,,,,,`, 'inv.csv row 2, deviceId: is 130 bytes long, at most 128 are allowed'],
  ['bad firmware', 'd1,c1,,,,2.4,,,', 'inv.csv row 2, minFirmware: "2.4" is not a MAJOR.MINOR.PATCH version'],
  ['CIDR host bits', 'd1,c1,,,10.20.1.0/16,,,,', 'inv.csv row 2, sources: "10.20.1.0/16" has host bits set (network is 10.20.0.0/16)'],
  ['CIDR prefix', 'd1,c1,,,10.0.0.0/33,,,,', 'inv.csv row 2, sources: "10.0.0.0/33": prefix /33 is longer than 32'],
  ['bad octet', 'd1,c1,,,10.0.0.256,,,,', 'inv.csv row 2, sources: "10.0.0.256" is not an IPv4 address'],
  ['IPv6 prefix', 'd1,c1,,,2001:db8::/32,,,,', 'inv.csv row 2, sources: "2001:db8::/32": only IPv4 networks (a.b.c.d/n) are supported as prefixes; list other sources exactly'],
  ['field count', 'd1,c1', 'inv.csv row 2: 2 fields, the header has 9'],
];

for (const [name, row, message] of MALFORMED) {
  test(`CSV malformed row: ${name}`, () => {
    assert.deepEqual(problemsOf(() => parseInventory(`${HEADER}\n${row}\n`, 'inv.csv')), [message]);
  });
}

test('every problem of a file is reported, and the file is rejected as a whole', () => {
  const text = [
    HEADER,
    'ok-1,c1,,,,,,,', // fine on its own
    'd1,c1,2026-13-01,,,,,,',
    'd2,c2,,,,x,,,',
    'd3,c3,2026-01-01,,,,,,',
    'd3,c3,2026-02-01,,,,,,', // the same credential twice for d3
    'd4,,,,,1.0.0,,,',
    'd4,,,,,2.0.0,,,', // two different minimums for d4
  ].join('\n');
  const e = (() => {
    try {
      parseInventory(text, 'inventory.csv');
    } catch (err) {
      return err as InventoryError;
    }
  })();
  assert.ok(e instanceof InventoryError);
  assert.equal(e.code, 'INVENTORY_INVALID');
  assert.deepEqual(e.problems, [
    'inventory.csv row 3, issuedAt: "2026-13-01" is not a date',
    'inventory.csv row 4, minFirmware: "x" is not a MAJOR.MINOR.PATCH version',
    'inventory.csv row 6, credential: "c3" is listed twice for device "d3" (first on row 5)',
    'inventory.csv row 8, minFirmware: "2.0.0" differs from "1.0.0" given for device "d4" on row 7',
  ]);
  assert.match(e.message, /^inventory\.csv: 4 problems:\n {2}inventory\.csv row 3/);
});

test('a credential shared by several devices is allowed (the report flags it)', () => {
  const d = parseInventory('deviceId,credential\na,shared\nb,shared\n', 'i.csv');
  assert.equal(d.size, 2);
});

test('header problems: unknown columns are named, a missing deviceId column, a repeated column, an empty file', () => {
  assert.deepEqual(problemsOf(() => parseInventory('deviceId,credentials,zone\nd1,c1,x\n', 'i.csv')), [
    'i.csv row 1: unknown columns "credentials", "zone" (known: deviceId, credential, issuedAt, expiresAt, sources, minFirmware, class, owner, site)',
  ]);
  assert.deepEqual(problemsOf(() => parseInventory('credential,owner\nc1,x\n', 'i.csv')), ['i.csv row 1: the header has no deviceId column']);
  assert.deepEqual(problemsOf(() => parseInventory('deviceId,owner,Owner\nd,x,y\n', 'i.csv')), ['i.csv row 1: column owner appears twice']);
  assert.deepEqual(problemsOf(() => parseInventory('\n\n', 'i.csv')), ['i.csv: no header row (expected columns: deviceId,credential,issuedAt,expiresAt,sources,minFirmware,class,owner,site)']);
});

test('a file full of errors reports the first MAX_PROBLEMS and counts the rest', () => {
  const rows = Array.from({ length: MAX_PROBLEMS + 5 }, (_, i) => `d${i},c,,,,bad,,,`);
  const p = problemsOf(() => parseInventory([HEADER, ...rows].join('\n'), 'big.csv'));
  assert.equal(p.length, MAX_PROBLEMS + 1);
  assert.equal(p.at(-1), '… and 5 more problems');
});

test('NDJSON: the documented shape, string credentials, merging lines', () => {
  const devices = parseInventory(
    [
      '{"deviceId":"thermo-0042","credentials":[{"id":"sha256:9f2c","issuedAt":"2026-01-01T00:00:00Z","expiresAt":"2027-01-01T00:00:00+01:00"}],"sources":["10.20.0.0/16","gw-eu-1"],"minFirmware":"2.4.0","class":"thermostat","owner":"facilities","site":"eu-1"}',
      '',
      '{"deviceId":"thermo-0042","credentials":["sha256:next"]}',
      '{"deviceId":"meter-1"}',
    ].join('\n'),
    'inventory.ndjson',
  );
  const t = devices.get('thermo-0042')!;
  assert.deepEqual(t.credentials, [
    { id: 'sha256:9f2c', issuedAt: Date.UTC(2026, 0, 1), expiresAt: Date.UTC(2026, 11, 31, 23) },
    { id: 'sha256:next' },
  ]);
  assert.deepEqual(
    t.sources.map((s) => s.kind),
    ['ipv4', 'exact'],
  );
  assert.equal(t.site, 'eu-1');
  assert.deepEqual(devices.get('meter-1'), { deviceId: 'meter-1', credentials: [], sources: [] });
});

test('NDJSON problems carry the line and the field path', () => {
  const p = problemsOf(() =>
    parseInventory(
      [
        '{"deviceId":"a","credentials":[{"id":"c","expiresAt":"2026-13-01"}],"zone":"x"}',
        '{"deviceId":7}',
        'not json',
        '{"deviceId":"b","credentials":[{"id":"c","issuedAt":true},{"issuedAt":"2026-01-01"}],"sources":"10.0.0.0/8"}',
        '["deviceId"]',
        '{"deviceId":"c","credentials":["k","k"],"minFirmware":"1.2"}',
      ].join('\n'),
      'inv.ndjson',
    ),
  );
  assert.deepEqual(p, [
    'inv.ndjson line 1: unknown field "zone" (known: deviceId, credentials, sources, minFirmware, class, owner, site)',
    'inv.ndjson line 1, credentials[0].expiresAt: "2026-13-01" is not a date',
    'inv.ndjson line 2, deviceId: must be a string, got 7',
    `inv.ndjson line 3: not JSON (${(() => {
      try {
        JSON.parse('not json');
      } catch (e) {
        return (e as Error).message;
      }
    })()})`,
    'inv.ndjson line 4, credentials[0].issuedAt: must be an ISO-8601 string or ms, got true',
    'inv.ndjson line 4, credentials[1].id: is required',
    'inv.ndjson line 4, sources: must be an array of strings ("10.20.0.0/16", "gw-eu-1")',
    'inv.ndjson line 5: not a JSON object',
    'inv.ndjson line 6, minFirmware: "1.2" is not a MAJOR.MINOR.PATCH version',
  ]);
  // the duplicate credential on line 6 is found once the line is otherwise valid
  assert.deepEqual(problemsOf(() => parseInventory('{"deviceId":"c","credentials":["k","k"]}', 'inv.ndjson')), [
    'inv.ndjson line 1, credentials[1]: "k" is listed twice for device "c" (first on line 1)',
  ]);
});

test('format: by extension, else sniffed', () => {
  assert.equal(inventoryFormat('a.csv', '{"x":1}'), 'csv');
  assert.equal(inventoryFormat('a.NDJSON', 'deviceId'), 'ndjson');
  assert.equal(inventoryFormat('a.jsonl', ''), 'ndjson');
  assert.equal(inventoryFormat('inventory', '\n  {"deviceId":"a"}'), 'ndjson');
  assert.equal(inventoryFormat('inventory.txt', 'deviceId,credential\n'), 'csv');
  assert.equal(parseInventory('{"deviceId":"a"}\n', 'inventory').size, 1);
});

test('times: ms, dates, date-times with zones; everything else says why', () => {
  assert.equal(parseTime('1767225600000'), 1767225600000);
  assert.equal(parseTime('2026-01-01'), Date.UTC(2026, 0, 1));
  assert.equal(parseTime('2026-01-01T01:02:03.5Z'), Date.UTC(2026, 0, 1, 1, 2, 3, 500));
  assert.equal(parseTime('2026-01-01T01:00+0100'), Date.UTC(2026, 0, 1));
  assert.equal(parseTime('2024-02-29'), Date.UTC(2024, 1, 29));
  assert.equal(parseTime('2026-02-29'), 'is not a date');
  assert.equal(parseTime('2026-01-01T24:00:00Z'), 'is not a time of day');
  assert.match(String(parseTime('01/02/2026')), /^is not a date/);
  assert.match(String(parseTime('-5')), /^is not a date/);
});

test('revocation list: one id per line, comments and blank lines, problems by line', () => {
  assert.deepEqual([...parseRevoked('# stolen in March\nsha256:aa\n\n  sha256:bb   # lost device\r\nsha256:aa\n', 'revoked.txt')], ['sha256:aa', 'sha256:bb']);
  assert.deepEqual(parseRevoked('', 'revoked.txt').size, 0);
  assert.deepEqual(problemsOf(() => parseRevoked('ok\nsha256:aa sha256:bb\n', 'revoked.txt')), ['revoked.txt line 2: "sha256:aa sha256:bb" holds whitespace; list one credential id per line']);
});
