// Checks, in this browser, what the server claims about its log (docs/AUDIT.md): that a signed
// tree head carries a valid Ed25519 signature by the server's head key, and that an event's
// inclusion proof leads from the event's own bytes to the head's root hash (RFC 9162 §2.1.3.2).
// Nothing here trusts the server's verdict: the hashes are recomputed with WebCrypto. WebCrypto
// exists only in a secure context (https, or http on localhost / 127.0.0.1); elsewhere the checks
// say they cannot run and point to `hooklog proof verify`, which does the same offline.
import { get } from "./api.js";
import { badge, clear, errorBox, fields, fmtNum, fmtTime, h, loading } from "./ui.js";

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

// Every step of an inclusion proof answer, checked: [label, ok] pairs, ok false on the first miss.
export async function checkInclusion(proof, publicKeyB64) {
  const steps = [];
  const entry = b64ToBytes(proof.entry);
  const leaf = await sha256(Uint8Array.of(0), entry);
  steps.push([`the event's bytes hash to its leaf (${fmtNum(entry.length)} bytes)`, bytesToHex(leaf) === proof.leaf_hash]);
  const root = await rootFromInclusion(proof.leaf_index, proof.tree_size, leaf, proof.path.map(hexToBytes));
  steps.push([`the path of ${proof.path.length} hashes leads to the root of the tree of ${fmtNum(proof.tree_size)} records`, root !== null && bytesToHex(root) === proof.root_hash]);
  if (proof.head) {
    steps.push(["that root is the signed head's root", proof.head.root_hash === proof.root_hash && proof.head.tree_size === proof.tree_size]);
    const sig = await verifyHead(proof.head, publicKeyB64);
    steps.push([sig === null ? "the head's signature (this browser has no Ed25519: use hooklog proof verify)" : "the head's Ed25519 signature is the server's head key", sig]);
  }
  return steps;
}

// A card that fetches and checks the inclusion proof of `eventId` into `out`.
export async function showInclusion(out, eventId) {
  if (!canVerify()) {
    clear(out, h("div", { class: "state error", role: "alert" }, h("p", {}, "This page is not a secure context (https, or http on localhost), so the browser offers no WebCrypto to check the proof: export it with `hooklog export --proof` and check it with `hooklog proof verify`.")));
    return;
  }
  clear(out, loading("Fetching and checking the proof…"));
  try {
    const [proof, key] = await Promise.all([get("/v1/audit/proofs/inclusion", { event_id: eventId }), get("/v1/audit/public-key")]);
    const steps = await checkInclusion(proof, key.public_key);
    const ok = steps.every(([, v]) => v === true);
    clear(
      out,
      h("div", { class: ok ? "ok-note" : "state error", "data-testid": "inclusion-result" },
        h("p", {}, ok ? badge("proven in this browser", "ok") : badge("not proven", "bad"), ` event ${proof.event_id} (seq ${fmtNum(proof.seq)}) against the head of ${fmtTime(proof.head?.timestamp)}.`),
        h("ul", { class: "checks" }, steps.map(([label, v]) => h("li", {}, v === true ? "✔ " : v === null ? "– " : "✘ ", label))),
        fields([["Leaf hash", h("code", { class: "hash" }, proof.leaf_hash)], ["Root hash", h("code", { class: "hash" }, proof.root_hash)]])),
    );
  } catch (e) {
    clear(out, errorBox(e));
  }
}
