// node leaf_entry.test.mjs: the console's leaf entry reader (http/console/leaf_entry.js) on
// entries built here from the layout of docs/FORMAT.md, byte by byte, and on entries that do
// not fit it. (The browser test, console.test.mjs, reads the real server's entries and compares
// them with its event answers.) Exit 0 pass, 1 fail.
import assert from "node:assert/strict";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const repo = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const le = await import(pathToFileURL(join(repo, "http", "console", "leaf_entry.js")).href);

// An entry as docs/FORMAT.md lays it out: [0,4) version, kind, flags (u16 LE); seq, recorded_at,
// occurred_at, ref_seq (8 bytes LE); nine strings (u16 LE length + bytes); body (u32 LE + bytes).
function entryOf({ version = 1, kind = 1, flags = 0, seq = 1n, recorded = 0n, occurred = 0n, ref = 0n, strings = [], body = new Uint8Array() }) {
  const enc = new TextEncoder();
  const parts = [Uint8Array.of(version, kind, flags & 0xff, flags >> 8)];
  const u64 = (v, signed) => {
    const b = new Uint8Array(8);
    new DataView(b.buffer)[signed ? "setBigInt64" : "setBigUint64"](0, BigInt(v), true);
    return b;
  };
  parts.push(u64(seq), u64(recorded, true), u64(occurred, true), u64(ref));
  for (let i = 0; i < 9; i++) {
    const s = enc.encode(strings[i] ?? "");
    parts.push(Uint8Array.of(s.length & 0xff, s.length >> 8), s);
  }
  const b = typeof body === "string" ? enc.encode(body) : body;
  parts.push(Uint8Array.of(b.length & 0xff, (b.length >> 8) & 0xff, (b.length >> 16) & 0xff, b.length >>> 24), b);
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) { out.set(p, at); at += p.length; }
  return out;
}

let passed = 0;
function test(name, fn) {
  try {
    fn();
    passed++;
    console.log(`  ok: ${name}`);
  } catch (e) {
    console.error(`FAIL: ${name}\n${e.stack}`);
    process.exit(1);
  }
}

const body = '{"folio":"L1","note":"ünïcode ✓"}';
const full = entryOf({
  flags: 3, seq: 42n, recorded: 1707523200000001n, occurred: 1707523200000000n, ref: 0n,
  strings: ["jelp", "jelp", "order_new", "order", "L1", "idem-1", "native-9", "", "PENDING"], body,
});

test("an event entry decodes to its fields and its body, byte for byte", () => {
  const e = le.decodeLeafEntry(full);
  assert.equal(e.version, 1);
  assert.equal(e.kind, le.KIND_EVENT);
  assert.equal(e.flags, 3);
  assert.equal(e.seq, 42n);
  assert.equal(e.recorded_at, 1707523200000001n);
  assert.equal(e.occurred_at, 1707523200000000n);
  assert.equal(e.ref_seq, 0n);
  assert.deepEqual([e.tenant, e.source, e.type, e.entity_kind, e.entity_id, e.idempotency_key, e.native_id, e.status_from, e.status_to],
    ["jelp", "jelp", "order_new", "order", "L1", "idem-1", "native-9", "", "PENDING"]);
  assert.ok(le.sameBytes(e.body, new TextEncoder().encode(body)));
  assert.equal(e.body.length, 37);
});

test("its fields are the ones GET /v1/events/{id} answers", () => {
  const f = le.eventFields(le.decodeLeafEntry(full));
  assert.deepEqual(f, {
    id: "evt_000000000000002a", seq: 42, source: "jelp", type: "order_new", tenant: "jelp",
    occurred_at: "2024-02-10T00:00:00.000000Z", recorded_at: "2024-02-10T00:00:00.000001Z",
    entity: { kind: "order", id: "L1" }, mode: "test", cataloged: false,
    status: { from: null, to: "PENDING" }, native_id: "native-9", idempotency_key: "idem-1",
  });
  const shown = { ...f, status: { to: "PENDING", from: null }, entity: { id: "L1", kind: "order" }, body, attempts: [] };
  assert.deepEqual(le.fieldsDiffering(le.decodeLeafEntry(full), shown), [], "key order and extra answer fields do not matter");
  assert.deepEqual(le.fieldsDiffering(le.decodeLeafEntry(full), { ...shown, type: "order_old", tenant: "acme" }), ["type", "tenant"]);
  const { native_id, ...noNative } = shown;
  assert.deepEqual(le.fieldsDiffering(le.decodeLeafEntry(full), noNative), ["native_id"]);
  const bare = le.decodeLeafEntry(entryOf({ seq: 7n, strings: ["t", "s", "x"] }));
  assert.deepEqual(le.fieldsDiffering(bare, { ...le.eventFields(bare), native_id: "n" }), ["native_id"], "a shown field the entry lacks differs");
  const g = le.eventFields(bare);
  assert.equal(g.entity, null);
  assert.equal(g.status, null);
  assert.equal(g.mode, "live");
  assert.equal(g.cataloged, true);
  assert.ok(!("native_id" in g) && !("idempotency_key" in g));
});

test("event ids and seqs, both ways", () => {
  assert.equal(le.eventIdFor(1n), "evt_0000000000000001");
  assert.equal(le.eventIdFor(0xffffffffffffffffn), "evt_ffffffffffffffff");
  assert.equal(le.seqFromEventId("evt_000000000000002a"), 42n);
  for (const bad of ["evt_2a", "evt_000000000000002A", "msg_000000000000002a", "", undefined]) assert.equal(le.seqFromEventId(bad), null, String(bad));
});

test("times are written as the server writes them (format_rfc3339)", () => {
  const cases = [
    [0n, "1970-01-01T00:00:00.000000Z"],
    [-1n, "1969-12-31T23:59:59.999999Z"],
    [1705314606118000n, "2024-01-15T10:30:06.118000Z"],
    [1709164800000000n, "2024-02-29T00:00:00.000000Z"],
    [951782400123456n, "2000-02-29T00:00:00.123456Z"],
    [253402300799999999n, "9999-12-31T23:59:59.999999Z"],
    [-62167219200000000n, "0000-01-01T00:00:00.000000Z"],
    [-62167219200000001n, "-001-12-31T23:59:59.999999Z"],
  ];
  for (const [us, want] of cases) assert.equal(le.rfc3339(us), want, String(us));
  for (let ms = -5e12; ms < 5e12; ms += 123456789013) {
    const want = new Date(ms).toISOString().replace(/\.(\d{3})Z$/, ".$1000Z");
    assert.equal(le.rfc3339(BigInt(ms) * 1000n), want, String(ms));
  }
});

test("a body that is not UTF-8 comes out byte for byte", () => {
  const raw = Uint8Array.of(0xff, 0x00, 0xc3, 0x28, 0x80);
  const e = le.decodeLeafEntry(entryOf({ body: raw }));
  assert.ok(le.sameBytes(e.body, raw));
  assert.ok(!le.sameBytes(e.body, Uint8Array.of(0xff, 0x00, 0xc3, 0x28)));
  assert.ok(!le.sameBytes(e.body, Uint8Array.of(0xff, 0x00, 0xc3, 0x28, 0x81)));
});

test("entries that do not fit the layout are refused, saying where", () => {
  const refused = (bytes, re) => assert.throws(() => le.decodeLeafEntry(bytes), re);
  refused(full.subarray(0, 35), /35 bytes, shorter than any record/);
  refused(entryOf({ version: 2 }), /record format version 2 is unknown/);
  refused(entryOf({ kind: 0 }), /record kind 0 is unknown/);
  refused(entryOf({ kind: 16 }), /record kind 16 is unknown/);
  refused(full.subarray(0, 37), /ends inside field tenant/);
  refused(full.subarray(0, 36 + 2 + 3), /ends inside field tenant/);
  refused(full.subarray(0, full.length - 37 - 2), /ends before its body length/);
  refused(full.subarray(0, full.length - 1), /body is 36 bytes, its length says 37/);
  const longer = new Uint8Array(full.length + 1);
  longer.set(full);
  refused(longer, /body is 38 bytes, its length says 37/);
  assert.equal(le.decodeLeafEntry(entryOf({ kind: 15 })).kind, 15, "every kind the log has decodes (a head record is no event: proof.js checks the kind)");
});

console.log(`leaf_entry: ${passed} cases passed`);
