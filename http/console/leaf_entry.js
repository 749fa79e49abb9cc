// Reads a record's Merkle leaf entry (docs/FORMAT.md, engine/leaf_entry.hpp): the bytes an
// inclusion proof hashes into its leaf, so what they say is what the proof proves.
//
//   entry = record bytes [0,4): version (1), kind, flags (u16 LE)
//           then the content: seq, recorded_at, occurred_at, ref_seq (8 bytes LE each), nine
//           strings (u16 LE length + bytes: tenant, source, type, entity_kind, entity_id,
//           idempotency_key, native_id, status_from, status_to), the body (u32 LE length +
//           bytes, exactly as received), and nothing after it.
//
// Pure functions, no DOM and no WebCrypto: the console's proof card (proof.js) uses them, and
// so does tests/console/leaf_entry.test.mjs under Node.

export const KIND_EVENT = 1;
const FLAG_TEST_MODE = 1;
const FLAG_UNCATALOGED = 2;
const STRINGS = ["tenant", "source", "type", "entity_kind", "entity_id", "idempotency_key", "native_id", "status_from", "status_to"];
const utf8 = new TextDecoder("utf-8");

// The entry's fields: { version, kind, flags, seq, recorded_at, occurred_at, ref_seq (BigInt
// µs / numbers), the nine strings (decoded as UTF-8), body (Uint8Array, the original bytes) }.
// Throws an Error saying where the bytes do not fit the layout, like the server's decoder.
export function decodeLeafEntry(bytes) {
  const b = bytes instanceof Uint8Array ? bytes : Uint8Array.from(bytes);
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  if (b.length < 4 + 32) throw new Error(`the entry is ${b.length} bytes, shorter than any record`);
  const out = { version: b[0], kind: b[1], flags: dv.getUint16(2, true) };
  if (out.version !== 1) throw new Error(`record format version ${out.version} is unknown`);
  if (out.kind === 0 || out.kind > 15) throw new Error(`record kind ${out.kind} is unknown`);
  out.seq = dv.getBigUint64(4, true);
  out.recorded_at = dv.getBigInt64(12, true);
  out.occurred_at = dv.getBigInt64(20, true);
  out.ref_seq = dv.getBigUint64(28, true);
  let p = 36;
  for (const name of STRINGS) {
    if (p + 2 > b.length) throw new Error(`the entry ends inside field ${name}`);
    const n = dv.getUint16(p, true);
    p += 2;
    if (p + n > b.length) throw new Error(`the entry ends inside field ${name}`);
    out[name] = utf8.decode(b.subarray(p, p + n));
    p += n;
  }
  if (p + 4 > b.length) throw new Error("the entry ends before its body length");
  const bodyLen = dv.getUint32(p, true);
  p += 4;
  if (p + bodyLen !== b.length) throw new Error(`the entry's body is ${b.length - p} bytes, its length says ${bodyLen}`);
  out.body = b.subarray(p);
  return out;
}

// "evt_" + the 16 hex digits of the seq (engine/record.hpp event_id_for).
export const eventIdFor = (seq) => `evt_${BigInt(seq).toString(16).padStart(16, "0")}`;
// The seq an event id names, as a BigInt; null when it is not an event id.
export function seqFromEventId(id) {
  const m = /^evt_([0-9a-f]{16})$/.exec(id ?? "");
  return m ? BigInt(`0x${m[1]}`) : null;
}

// µs since the epoch (BigInt) as the server writes it (engine/time_util.cpp format_rfc3339):
// "2024-01-15T10:30:06.118000Z".
export function rfc3339(micros) {
  const us = BigInt(micros);
  const M = 1000000n;
  let secs = us / M;
  let frac = us % M;
  if (frac < 0n) { frac += M; secs -= 1n; }
  let days = secs / 86400n;
  let rem = secs % 86400n;
  if (rem < 0n) { rem += 86400n; days -= 1n; }
  // Howard Hinnant's civil_from_days.
  const z = days + 719468n;
  const era = (z >= 0n ? z : z - 146096n) / 146097n;
  const doe = z - era * 146097n;
  const yoe = (doe - doe / 1460n + doe / 36524n - doe / 146096n) / 365n;
  const doy = doe - (365n * yoe + yoe / 4n - yoe / 100n);
  const mp = (5n * doy + 2n) / 153n;
  const d = doy - (153n * mp + 2n) / 5n + 1n;
  const m = mp < 10n ? mp + 3n : mp - 9n;
  const y = yoe + era * 400n + (m <= 2n ? 1n : 0n);
  const pad = (v, n) => String(v).padStart(n, "0");
  const year = y < 0n ? `-${pad(-y, 3)}` : pad(y, 4); // printf("%04lld")
  return `${year}-${pad(m, 2)}-${pad(d, 2)}T${pad(rem / 3600n, 2)}:${pad((rem / 60n) % 60n, 2)}:${pad(rem % 60n, 2)}.${pad(frac, 6)}Z`;
}

// The fields GET /v1/events/{id} answers for this entry (http/api.cpp event_json), body aside.
export function eventFields(e) {
  const f = {
    id: eventIdFor(e.seq),
    seq: Number(e.seq),
    source: e.source,
    type: e.type,
    tenant: e.tenant,
    occurred_at: rfc3339(e.occurred_at),
    recorded_at: rfc3339(e.recorded_at),
    entity: e.entity_kind ? { kind: e.entity_kind, id: e.entity_id } : null,
    mode: e.flags & FLAG_TEST_MODE ? "test" : "live",
    cataloged: !(e.flags & FLAG_UNCATALOGED),
    status: e.status_to || e.status_from ? { from: e.status_from || null, to: e.status_to } : null,
  };
  if (e.native_id) f.native_id = e.native_id;
  if (e.idempotency_key) f.idempotency_key = e.idempotency_key;
  return f;
}

// The names of the fields where `shown` (an event as the API answers it) says something other
// than the entry: [] when every field of eventFields(entry) is the same, absent ones included.
export function fieldsDiffering(entry, shown) {
  const want = eventFields(entry);
  const same = (a, b) => JSON.stringify(a ?? null) === JSON.stringify(b ?? null);
  const names = [...Object.keys(want), "native_id", "idempotency_key"];
  return [...new Set(names)].filter((k) => !same(canon(want[k]), canon(shown?.[k])));
}
// Objects compared by their keys in a fixed order (a JSON answer's key order is no fact).
const canon = (o) => (o && typeof o === "object" ? Object.fromEntries(Object.keys(o).sort().map((k) => [k, o[k]])) : o);

// True when the two byte arrays are equal, byte for byte.
export function sameBytes(a, b) {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
