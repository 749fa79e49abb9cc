// Checks, in this browser, what the server claims about its log (docs/AUDIT.md): that a signed
// tree head carries a valid Ed25519 signature by the server's head key, and that an event's
// inclusion proof leads from the event's own bytes to the head's root hash (RFC 9162 §2.1.3.2),
// and that those bytes are the event the page shows: its id and seq, its fields and its body
// byte for byte (leaf_entry.js reads them out of the proven entry). Nothing here trusts the
// server's verdict: the hashes are recomputed with WebCrypto. The head key comes from the same
// server, so the card shows its SHA-256 for the auditor to compare with the key the operator
// published elsewhere. WebCrypto exists only in a secure context (https, or http on localhost /
// 127.0.0.1); elsewhere the checks say they cannot run and point to `hooklog proof verify`,
// which does the same offline.
import { get } from "./api.js";
import { badge, clear, errorBox, fields, fmtNum, fmtTime, h, loading } from "./ui.js";
import { KIND_EVENT, decodeLeafEntry, eventIdFor, fieldsDiffering, rfc3339, sameBytes, seqFromEventId } from "./leaf_entry.js";

const enc = new TextEncoder();

export const canVerify = () => Boolean(globalThis.crypto?.subtle);

export function hexToBytes(hex) {
  if (!/^([0-9a-f]{2})*$/.test(hex)) throw new Error(`not lowercase hex: ${hex.slice(0, 16)}…`);
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.substr(2 * i, 2), 16);
  return out;
}
export const bytesToHex = (b) => [...b].map((x) => x.toString(16).padStart(2, "0")).join("");
export function b64ToBytes(s) {
  const bin = atob(s);
  return Uint8Array.from(bin, (c) => c.charCodeAt(0));
}

async function sha256(...parts) {
  const len = parts.reduce((n, p) => n + p.length, 0);
  const buf = new Uint8Array(len);
  let at = 0;
  for (const p of parts) {
    buf.set(p, at);
    at += p.length;
  }
  return new Uint8Array(await crypto.subtle.digest("SHA-256", buf));
}

// The root an inclusion path leads to (RFC 9162 §2.1.3.2), or null when the path does not fit
// the leaf index and tree size.
export async function rootFromInclusion(leafIndex, treeSize, leafHash, path) {
  if (leafIndex >= treeSize) return null;
  let fn = leafIndex;
  let sn = treeSize - 1;
  let r = leafHash;
  const one = Uint8Array.of(1);
  for (const p of path) {
    if (sn === 0) return null;
    if (fn % 2 === 1 || fn === sn) {
      r = await sha256(one, p, r);
      if (fn % 2 === 0) while (fn % 2 === 0 && fn !== 0) { fn = Math.floor(fn / 2); sn = Math.floor(sn / 2); }
    } else {
      r = await sha256(one, r, p);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  return sn === 0 ? r : null;
}

// The bytes a head's signature covers (engine/tree_head.hpp).
export const headText = (head) => `hooklog-tree-head/1\n${head.tree_size}\n${head.root_hash}\n${head.timestamp_us}\n`;

// The head's time as RFC 3339 ("2024-01-15T10:30:06.118000Z"), from `timestamp_us`: the field
// the signature covers. The answer's `timestamp` is a readable copy the signature does not
// cover, so it is never what is shown. null when `timestamp_us` is no whole number.
export function headTime(head) {
  const us = head?.timestamp_us;
  const whole = (typeof us === "number" || typeof us === "string") && /^-?\d+$/.test(String(us));
  return whole ? rfc3339(us) : null;
}

// true / false, or null when this browser has no Ed25519 in WebCrypto.
export async function verifyHead(head, publicKeyB64) {
  let key;
  try {
    key = await crypto.subtle.importKey("raw", b64ToBytes(publicKeyB64), { name: "Ed25519" }, false, ["verify"]);
  } catch {
    return null;
  }
  return crypto.subtle.verify({ name: "Ed25519" }, key, b64ToBytes(head.signature), enc.encode(headText(head)));
}

// The SHA-256 of the head key's 32 raw bytes, hex: what an auditor compares with the key the
// operator publishes out of band (`echo KEY | base64 -d | sha256sum`).
export const keyFingerprint = async (publicKeyB64) => bytesToHex(await sha256(b64ToBytes(publicKeyB64)));

// The proof's entry decoded ({ entry } or { error }: a message saying where it does not fit).
export function provenEntry(proof) {
  try {
    return { entry: decodeLeafEntry(b64ToBytes(proof.entry)) };
  } catch (e) {
    return { error: e.message };
  }
}

// Every step of an inclusion proof answer, checked: [label, ok] pairs (ok null: cannot be checked
// in this browser). Every step runs, so a card lists each one that fails. `shown` is what the page
// asked for and shows: { id } (an event id typed on the Audit page), or the event as
// GET /v1/events/{id} answered it (id, seq, fields, body) on the event's own page. The steps tie
// the proven entry to it: without them a server could answer another event's valid proof.
export async function checkInclusion(proof, publicKeyB64, shown) {
  const steps = [];
  const entryBytes = b64ToBytes(proof.entry);
  const leaf = await sha256(Uint8Array.of(0), entryBytes);
  steps.push([`the event's bytes hash to its leaf (${fmtNum(entryBytes.length)} bytes)`, bytesToHex(leaf) === proof.leaf_hash]);
  const { entry, error } = provenEntry(proof);
  const isEvent = entry !== undefined && entry.kind === KIND_EVENT;
  steps.push([`those bytes are an event record${error ? ` (${error})` : entry.kind !== KIND_EVENT ? ` (record kind ${entry.kind})` : ""}`, isEvent]);
  const wantSeq = seqFromEventId(shown.id);
  const sameEvent = isEvent && wantSeq !== null && entry.seq === wantSeq && (shown.seq === undefined || BigInt(shown.seq) === wantSeq);
  steps.push([`the proven event is ${shown.id}, the one this page asked for${entry && !sameEvent ? ` (the entry is ${eventIdFor(entry.seq)})` : ""}`, sameEvent]);
  // The leaf's position is the event's seq − 1: the path proves the entry sits there.
  const leafIndex = wantSeq === null ? null : Number(wantSeq - 1n);
  const atIndex = leafIndex !== null && proof.leaf_index === leafIndex;
  steps.push([`the proof is of leaf ${leafIndex === null ? "seq − 1" : fmtNum(leafIndex)}, the event's seq − 1${atIndex ? "" : ` (it is of leaf ${proof.leaf_index})`}`, atIndex]);
  if (shown.body !== undefined) {
    const differ = isEvent ? fieldsDiffering(entry, shown) : ["all"];
    steps.push([`the proven fields are the ones shown${differ.length ? ` (differ: ${differ.join(", ")})` : " (type, tenant, source, times, entity, status, ids)"}`, differ.length === 0]);
    const body = enc.encode(shown.body);
    const sameBody = isEvent && sameBytes(entry.body, body);
    let why = "";
    if (isEvent && !sameBody) {
      let valid = true;
      try { new TextDecoder("utf-8", { fatal: true }).decode(entry.body); } catch { valid = false; }
      why = valid ? ` (the entry's body is ${fmtNum(entry.body.length)} bytes, the shown one ${fmtNum(body.length)})` : " (the stored body is not UTF-8: the API's JSON cannot carry those bytes; hooklog proof verify checks them)";
    }
    steps.push([`the proven body is the body shown, byte for byte${why || ` (${fmtNum(body.length)} bytes)`}`, sameBody]);
  }
  // Every hash of the path is 32 bytes (64 hex digits): a node of another length is no node of
  // the tree, whatever root it leads to.
  const path = Array.isArray(proof.path) ? proof.path : [];
  const wellFormed = Array.isArray(proof.path) &&
      path.every((x) => typeof x === 'string' && /^[0-9a-f]{64}$/.test(x));
  const root = wellFormed ?
      await rootFromInclusion(proof.leaf_index, proof.tree_size, leaf, path.map(hexToBytes)) :
      null;
  steps.push([
    `the path of ${path.length} hashes leads to the root of the tree of ${
        fmtNum(proof.tree_size)} records${wellFormed ? '' : ' (a path hash is not 64 hex digits)'}`,
    root !== null && bytesToHex(root) === proof.root_hash
  ]);
  // The signed head is what ties the root to the server's key: an answer without one proves
  // nothing (any path leads to some root), so its two steps fail rather than go unlisted.
  const head = proof.head;
  if (!head || typeof head !== 'object') {
    steps.push(['that root is the signed head\'s root (the answer carries no signed head)', false]);
    steps.push(
        ['the head\'s Ed25519 signature is the server\'s head key (no head to check)', false]);
    return steps;
  }
  // A `timestamp` that is not the signed `timestamp_us` would let an answer claim another time
  // for a validly signed head: the step fails on it, whatever the signature says.
  const signedTime = headTime(head);
  const copyDiffers = head.timestamp !== undefined && head.timestamp !== signedTime;
  steps.push([
    `that root is the signed head's root${copyDiffers ? ` (its "timestamp" ${head.timestamp} is not its signed timestamp_us, ${signedTime ?? "no time"})` : ""}`,
    head.root_hash === proof.root_hash && head.tree_size === proof.tree_size && !copyDiffers
  ]);
  const sig = await verifyHead(head, publicKeyB64);
  steps.push([
    sig === null ? 'the head\'s signature (this browser has no Ed25519: use hooklog proof verify)' :
                   'the head\'s Ed25519 signature is the server\'s head key',
    sig
  ]);
  return steps;
}

// A card that fetches and checks the inclusion proof of the event `shown` ({ id }, or the event
// as the page fetched it: then its fields and body are checked against the proof too) into `out`.
export async function showInclusion(out, shown) {
  if (!canVerify()) {
    clear(out, h("div", { class: "state error", role: "alert" }, h("p", {}, "This page is not a secure context (https, or http on localhost), so the browser offers no WebCrypto to check the proof: export it with `hooklog export --proof` and check it with `hooklog proof verify`.")));
    return;
  }
  clear(out, loading("Fetching and checking the proof…"));
  try {
    const [proof, key] = await Promise.all([get("/v1/audit/proofs/inclusion", { event_id: shown.id }), get("/v1/audit/public-key")]);
    const steps = await checkInclusion(proof, key.public_key, shown);
    const failed = steps.find(([, v]) => v !== true);
    const { entry } = provenEntry(proof);
    // What the proven bytes say, not what the answer's other fields claim.
    const proven = entry
      ? `${entry.kind === 1 ? `event ${eventIdFor(entry.seq)}` : `a record of kind ${entry.kind}`} (seq ${fmtNum(entry.seq)}, type ${entry.type || "—"}, tenant ${entry.tenant || "—"}, body ${fmtNum(entry.body.length)} bytes)`
      : "bytes that are no record";
    clear(
      out,
      h("div", { class: failed ? "state error" : "ok-note", "data-testid": "inclusion-result" },
        h("p", {}, failed ? badge("not proven", "bad") : badge("proven in this browser", "ok"),
          failed ? h("span", { "data-testid": "inclusion-failed" }, ` failed: ${failed[0]}.`) : null,
          ` The proof is of ${proven} against the head of ${fmtTime(headTime(proof.head))}.`),
        h("ul", { class: "checks" }, steps.map(([label, v]) => h("li", {}, v === true ? "✔ " : v === null ? "– " : "✘ ", label))),
        fields([
          ["Leaf hash", h("code", { class: "hash" }, proof.leaf_hash)],
          ["Root hash", h("code", { class: "hash" }, proof.root_hash)],
          ["Head key (Ed25519)", h("code", { class: "hash", "data-testid": "head-key" }, key.public_key)],
          ["Head key SHA-256", h("code", { class: "hash", "data-testid": "head-key-sha256" }, await keyFingerprint(key.public_key))],
        ]),
        h("p", { class: "muted small" }, "The head key comes from this server too: compare it (or its SHA-256) with the key the operator published elsewhere. This page cannot prove the key is the operator's (docs/AUDIT.md)."),
      ),
    );
  } catch (e) {
    clear(out, errorBox(e));
  }
}
