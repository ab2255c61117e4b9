import fc from 'fast-check';

/**
 * The size these payloads were written for (fast-check's default), on every arbitrary whose length it bounds (one with
 * a maxLength or maxKeys under ten is the same at both). The suite's default is 'medium' (test/setup/fast-check-size.ts):
 * JSON trees ten times larger, 100,000 of them ten times slower, no new kind of input.
 */
const SIZE = 'small';

function builtAtSize<T>(build: () => fc.Arbitrary<T>): fc.Arbitrary<T> {
  const global = fc.readConfigureGlobal();
  fc.configureGlobal({ ...global, baseSize: SIZE });
  try {
    return build();
  } finally {
    fc.configureGlobal(global);
  }
}

/** Every name on Object.prototype, and `__proto__`: the keys that reach the prototype chain when looked up naively. */
export const PROTOTYPE_NAMES: readonly string[] = [...Object.getOwnPropertyNames(Object.prototype), '__proto__'];

/** Metric names and units that the dust-collector profile really has, so that generated payloads are sometimes valid. */
const METRICS = ['diff_pressure', 'hopper_temp', 'fan_running', 'rotary_valve', 'spark_count', 'water_level'] as const;
const UNITS = ['°C', '°F', 'Pa', 'kPa', 'mmH2O', 'furlongs', '', '%'] as const;

const protoName = fc.constantFrom(...PROTOTYPE_NAMES);
const name = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(...METRICS) },
  { weight: 2, arbitrary: protoName },
  fc.string({ maxLength: 70, size: SIZE }),
);

/** Numbers at the edges: huge, tiny, negative zero, beyond the safe integers, and as text that parses to Infinity. */
const extremeNumber = fc.oneof(
  fc.constantFrom(0, -0, 1e308, -1e308, 5e-324, 2 ** 53 + 2, -(2 ** 53) - 2, Number.MAX_SAFE_INTEGER, 8.64e15, 8.64e15 + 1, 8.7e15),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.integer(),
);

/** Times at and beyond the ends of what a Date and InfluxDB hold, and strings that look almost like RFC 3339. */
const timestamp = fc.oneof(
  extremeNumber,
  fc.integer({ min: 0, max: 4_102_444_800_000 }),
  fc.constantFrom(
    '0000-01-01T00:00:00Z',
    '1677-09-21T00:12:43Z',
    '1970-01-01T00:00:00Z',
    '2026-02-30T00:00:00Z',
    '2026-11-31T08:00:00Z',
    '2024-02-29T08:00:00Z',
    '2026-11-22t08:00:00z',
    '9999-12-31T23:59:59.999Z',
    '+275760-09-13T00:00:00Z',
    '2026-11-22T08:00:00+25:00',
    '2026-11-22 08:00:00',
    '',
  ),
  fc.date({ noInvalidDate: true }).map((date) => date.toISOString()),
);

const scalar = fc.oneof(
  extremeNumber,
  fc.boolean(),
  fc.string({ maxLength: 80, size: SIZE }),
  fc.constant(null),
  fc.constantFrom('running', 'stopped'),
);
// jsonValue takes no size of its own: its containers are sized when it is built, from the global setting
const anyJson = builtAtSize(() => fc.jsonValue({ maxDepth: 4 }));
const value = fc.oneof({ weight: 4, arbitrary: scalar }, { weight: 1, arbitrary: anyJson });

const metrics = fc.oneof(
  { weight: 6, arbitrary: fc.dictionary(name, value, { minKeys: 0, maxKeys: 6 }) },
  { weight: 1, arbitrary: anyJson },
);
const units = fc.oneof(
  {
    weight: 3,
    arbitrary: fc.dictionary(name, fc.oneof(fc.constantFrom(...UNITS), protoName, fc.string({ maxLength: 40, size: SIZE })), {
      size: SIZE,
    }),
  },
  { weight: 1, arbitrary: anyJson },
);

const reading = fc.record({ ts: timestamp, seq: fc.oneof(fc.nat(), extremeNumber), metrics, units }, { requiredKeys: ['metrics'] });

/**
 * A well-formed reading whose value is extreme in a unit the gateway converts: the conversion may leave the numbers a
 * double holds (1e308 MPa in Pa, 1.7e308 °F in °C), which no rule or InfluxDB float field takes.
 */
const convertedExtreme = fc
  .tuple(
    fc.constantFrom(
      ['diff_pressure', 'kPa'],
      ['diff_pressure', 'MPa'],
      ['diff_pressure', 'bar'],
      ['hopper_temp', '°F'],
      ['hopper_temp', 'K'],
    ),
    extremeNumber,
    fc.constantFrom(1.7e308, -1.7e308, Number.MAX_VALUE, -Number.MAX_VALUE),
    fc.boolean(),
  )
  .map(([[metric, unit], value, edge, atEdge]) => ({ metrics: { [metric]: atEdge ? edge : value }, units: { [metric]: unit } }));

/** A JSON text with `key` spelled out, since JSON.stringify never writes an own `__proto__` key of an object literal. */
const withRawKey = (text: string, key: string, raw: string): string => text.replace(/^\{/, `{"${key}":${raw},`);

/** A JSON value as text, sometimes with a prototype name written as a raw key where `metrics` or `units` hold names. */
const jsonText = fc
  .tuple(
    fc.oneof(
      { weight: 4, arbitrary: reading },
      { weight: 1, arbitrary: convertedExtreme },
      { weight: 2, arbitrary: fc.record({ readings: fc.array(reading, { maxLength: 8 }), units }) },
      anyJson,
    ),
    fc.option(protoName, { nil: undefined }),
    fc.constantFrom('metrics', 'units'),
  )
  .map(([payload, proto, where]) => {
    const text = JSON.stringify(payload) ?? 'null';
    if (proto === undefined || typeof payload !== 'object' || payload === null || Array.isArray(payload)) return text;
    return withRawKey(text, where, `{"${proto}":${where === 'units' ? '"°C"' : '1'},"hopper_temp":40}`);
  });

/** Nesting far deeper than any payload needs, in the places a payload has objects. */
const deeplyNested = fc.tuple(fc.integer({ min: 100, max: 3_000 }), fc.constantFrom('[', '{"a":')).map(([depth, open]) => {
  const close = open === '[' ? ']' : '}';
  const nested = `${open.repeat(depth)}1${close.repeat(depth)}`;
  return `{"metrics":{"hopper_temp":${nested}}}`;
});

/** Backlogs at and past the contract's 1000 readings. */
const hugeBacklog = fc
  .integer({ min: 999, max: 1_002 })
  .map((count) =>
    JSON.stringify({ readings: Array.from({ length: count }, (_, i) => ({ seq: i, metrics: { hopper_temp: 20 + (i % 10) } })) }),
  );

/** Every kind of hostile or broken payload a device could send, as the bytes it would send. */
export const hostilePayload: fc.Arbitrary<Buffer> = fc.oneof(
  { weight: 3, arbitrary: fc.uint8Array({ maxLength: 200, size: SIZE }).map((bytes) => Buffer.from(bytes)) },
  { weight: 10, arbitrary: jsonText.map((text) => Buffer.from(text)) },
  {
    weight: 3,
    arbitrary: fc.tuple(jsonText, fc.nat()).map(([text, cut]) => Buffer.from(text.slice(0, cut % (text.length + 1)))),
  },
  { weight: 1, arbitrary: deeplyNested.map((text) => Buffer.from(text)) },
  {
    weight: 1,
    arbitrary: fc
      .constantFrom('1e400', '-1e400', '{"metrics":{"hopper_temp":1e400}}', '{"ts":1e400,"metrics":{"hopper_temp":1}}')
      .map((t) => Buffer.from(t)),
  },
);

/** Payloads past the default 256 KiB limit. */
const oversize = fc.integer({ min: 256 * 1024 + 1, max: 300_000 }).map((bytes) => Buffer.alloc(bytes, 0x20));

/** Rarely: backlogs of 999–1002 readings and oversize payloads (kept apart: they cost a thousand times more to judge). */
export const hugePayload: fc.Arbitrary<Buffer> = fc.oneof(
  hugeBacklog.map((text) => Buffer.from(text)),
  oversize,
);
