/**
 * Seeded random rows for the `alltypes` test blueprint, every value written as the text its type
 * reads (so no value passes through a JavaScript number on the way in either), with the edge
 * values a backup must carry unchanged mixed in.
 */

import type { Prng } from './prng';

/** Text that stresses the COPY escapes and Unicode (never a NUL: Postgres text cannot hold one). */
const STRINGS = [
  '',
  ' ',
  'plain',
  'tab\there',
  'line\nbreak',
  'carriage\rreturn',
  'back\\slash',
  '\\N',
  '\\',
  'ends with backslash\\',
  '\b\f\v\u0001\u001f',
  '"quoted", {braced}, (paren)',
  "it's",
  'ü ñ ß',
  '😀 emoji and 𝄞',
  'NULL',
  'a'.repeat(300),
];

const EDGE: Readonly<Record<string, readonly string[]>> = {
  i2: ['-32768', '32767', '0'],
  i4: ['-2147483648', '2147483647'],
  i8: ['-9223372036854775808', '9223372036854775807', '9007199254740993', '-9007199254740993'],
  num: [
    'NaN',
    'Infinity',
    '-Infinity',
    '0.000000000000000000000000000001',
    '123456789012345678901234567890.123456789012345678901234567890',
    '-1e-100',
    '9223372036854775808',
    '19.999999999999999999',
  ],
  num_scaled: ['12345678901234567890.0123456789', '-0.0000000001', '0'],
  f4: ['NaN', 'Infinity', '-Infinity', '-0', '3.4028235e38', '1e-45', '0.1'],
  f8: ['NaN', 'Infinity', '-Infinity', '-0', '1.7976931348623157e308', '5e-324', '0.1', '9007199254740993'],
  ch: ['ab', '', 'x y'],
  bin: ['\\x', '\\x00ff5c0a09', '\\x5c4e'],
  js: [
    '{"a":1,"a":2}',
    '  [1,  2 ,3]  ',
    'null',
    '1e400',
    '19.999999999999999999',
    '{"z":1,"a":{"n":-0.0}}',
    '"tab\\tand\\u00fc"',
  ],
  jb: [
    'null',
    '1e400',
    '19.999999999999999999',
    '9007199254740993',
    '{"b":1,"a":[true,null,"x\\ny"]}',
    '[]',
    '{"deep":{"deeper":{"n":1e-400}}}',
  ],
  arr_i: ['{}', '{NULL,1}', '{{1,2},{3,4}}', '{-2147483648,2147483647}'],
  arr_t: ['{}', '{"a\\"b","c,d",NULL,"NULL",""}', '{"tab\there","back\\\\slash"}'],
  r_int: ['empty', '[1,10)', '(,5]', '[-2147483648,2147483647)'],
  r_tstz: ['empty', '[2020-01-01 00:00:00+00,infinity)', '(-infinity,2020-06-01 12:34:56.789012+05:30]'],
  r_num: ['empty', '[0.1,0.30000000000000000004)', '(,)'],
  m: ['sad', "tab\tand'quote", 'back\\slash', 'NULL'],
  m_arr: ['{}', '{sad,happy}', '{"back\\\\slash","NULL",NULL}'],
  d: ['0.000000000000000000001', '99999999999999999999999999999999'],
  ts: [
    'infinity',
    '-infinity',
    '4713-11-24 00:00:00 BC',
    '294276-12-31 23:59:59.999999',
    '2000-02-29 12:00:00.5',
  ],
  tstz: ['infinity', '-infinity', '2000-01-01 00:00:00+14', '1970-01-01 00:00:00.000001+00'],
  dt: ['infinity', '-infinity', '4713-11-24 BC', '5874897-12-31', '2024-02-29'],
  tm: ['00:00:00', '24:00:00', '23:59:59.999999'],
  tmz: ['00:00:00+1559', '23:59:59.999999-1559', '12:00:00+00'],
  iv: ['-178000000 years', '1 day -01:00:00', '00:00:00.000001', '1 mon 2 days 03:04:05.678'],
  u: ['00000000-0000-0000-0000-000000000000', 'ffffffff-ffff-ffff-ffff-ffffffffffff'],
  ip: ['::1', '192.168.0.1/24', '10.0.0.1', 'fe80::1%eth0'.replace('%eth0', '')],
  net: ['10.0.0.0/8', '::/0', '192.168.100.128/25'],
  mac: ['00:00:00:00:00:00', 'ff:ff:ff:ff:ff:ff'],
  p: ['(,)', '("tab\there",12.5)', '("a ""quoted"" label",NaN)', '(x,9223372036854775808)'],
  flag: ['true', 'false'],
  bits: ['', '1010', '1111111111111111'],
};

const hex = (r: Prng, bytes: number) =>
  Array.from({ length: bytes }, () => r.int(0, 255).toString(16).padStart(2, '0')).join('');

const RANDOM: Readonly<Record<string, (r: Prng) => string>> = {
  i2: (r) => String(r.int(-32768, 32767)),
  i4: (r) => String(r.int(-2147483648, 2147483647)),
  i8: (r) =>
    `${r.pick(['', '-'])}${r.int(1, 9)}${String(r.int(0, 999999999)).padStart(9, '0')}${String(r.int(0, 99999999)).padStart(8, '0')}`,
  num: (r) => `${r.pick(['', '-'])}${r.int(0, 999999999)}.${hex(r, 6).replace(/[a-f]/g, '7')}`,
  num_scaled: (r) => `${r.int(0, 99999999)}.${String(r.int(0, 9999999999)).padStart(10, '0')}`,
  f4: (r) => `${r.int(-9999, 9999)}.${r.int(0, 999)}e${r.int(-30, 30)}`,
  f8: (r) => `${r.int(-99999, 99999)}.${r.int(0, 999999)}e${r.int(-300, 300)}`,
  txt: (r) => r.pick(STRINGS) + r.pick(STRINGS),
  vc: (r) => r.pick(STRINGS).slice(0, 40),
  ch: (r) => r.pick(['abcde', 'a', 'zz z']),
  bin: (r) => `\\x${hex(r, r.int(0, 40))}`,
  js: (r) => JSON.stringify({ s: r.pick(STRINGS), n: r.int(-1000, 1000) }),
  jb: (r) => JSON.stringify({ s: r.pick(STRINGS), list: [r.int(0, 9), r.pick(STRINGS)] }),
  arr_i: (r) => `{${Array.from({ length: r.int(0, 5) }, () => r.int(-1000, 1000)).join(',')}}`,
  arr_t: (r) => `{${Array.from({ length: r.int(0, 4) }, () => JSON.stringify(r.pick(STRINGS))).join(',')}}`,
  r_int: (r) => {
    const a = r.int(-1000, 1000);
    return `[${a},${a + r.int(1, 100)})`;
  },
  r_tstz: (r) => `[2024-0${r.int(1, 9)}-1${r.int(0, 9)} 0${r.int(0, 9)}:00:00+00,2025-01-01 00:00:00+00)`,
  r_num: (r) => `[${r.int(0, 9)}.${r.int(0, 99)},${r.int(10, 99)}.5]`,
  m: (r) => r.pick(['sad', 'ok', 'happy']),
  m_arr: (r) => `{${Array.from({ length: r.int(0, 3) }, () => r.pick(['sad', 'ok', 'happy'])).join(',')}}`,
  d: (r) => `${r.int(1, 999999)}.${r.int(0, 999)}`,
  ts: (r) =>
    `${r.int(1900, 2100)}-0${r.int(1, 9)}-1${r.int(0, 9)} 1${r.int(0, 9)}:${r.int(10, 59)}:${r.int(10, 59)}.${r.int(0, 999999)}`,
  tstz: (r) =>
    `${r.int(1900, 2100)}-0${r.int(1, 9)}-2${r.int(0, 8)} 0${r.int(0, 9)}:${r.int(10, 59)}:00${r.pick(['+00', '-07:30', '+05:45'])}`,
  dt: (r) => `${String(r.int(1, 9999)).padStart(4, '0')}-1${r.int(0, 2)}-0${r.int(1, 9)}`,
  tm: (r) => `${r.int(10, 23)}:${r.int(10, 59)}:${r.int(10, 59)}.${r.int(0, 999999)}`,
  tmz: (r) => `${r.int(10, 23)}:${r.int(10, 59)}:00${r.pick(['+00', '-03', '+09:30'])}`,
  iv: (r) => `${r.int(-100, 100)} days ${r.int(0, 23)}:${r.int(10, 59)}:00.${r.int(0, 999999)}`,
  u: (r) => `${hex(r, 4)}-${hex(r, 2)}-4${hex(r, 2).slice(1)}-a${hex(r, 2).slice(1)}-${hex(r, 6)}`,
  ip: (r) => `${r.int(1, 223)}.${r.int(0, 255)}.${r.int(0, 255)}.${r.int(1, 254)}`,
  net: (r) => `${r.int(1, 223)}.${r.int(0, 255)}.0.0/16`,
  mac: (r) => Array.from({ length: 6 }, () => hex(r, 1)).join(':'),
  p: (r) => `(${JSON.stringify(r.pick(STRINGS).replaceAll('\\', ''))},${r.int(-99, 99)}.${r.int(0, 9)})`,
  flag: (r) => r.pick(['true', 'false']),
  bits: (r) => Array.from({ length: r.int(0, 16) }, () => r.pick(['0', '1'])).join(''),
};

/** The columns of `everything` a test writes (the generated one is computed by Postgres). */
export const EVERYTHING_COLUMNS = Object.keys(RANDOM);

/** Values for one row of `everything`: each a type's input text or null (SQL NULL). */
export function randomEverythingRow(r: Prng): (string | null)[] {
  return EVERYTHING_COLUMNS.map((c) => {
    const roll = r.next();
    if (roll < 0.1) return null;
    const edges = EDGE[c];
    if (edges && roll < 0.45) return r.pick(edges);
    return (RANDOM[c] as (r: Prng) => string)(r);
  });
}

export { STRINGS };
