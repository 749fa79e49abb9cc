// Audit (admin keys): the log head (seq and chain hash), a verification of the hash chain, the
// latest signed tree head with its signature checked in this browser (and a button to sign one
// now), and an event's inclusion proof checked in this browser (proof.js). #/audit?event=evt_…
// opens with that event's proof.
import { get, post } from "./api.js";
import { badge, button, clear, errorBox, field, fields, fmtNum, fmtTime, h, loading } from "./ui.js";
import { canVerify, headTime, keyFingerprint, showInclusion, verifyHead } from "./proof.js";

// The latest signed head into `card`, its signature checked against the served public key.
async function renderSignedHead(ctx, card) {
  const title = h("h2", {}, "Signed tree head");
  const note = h("div", { "aria-live": "polite" });
  const signNow = button("Sign a head now", async () => {
    clear(note, loading("Signing…"));
    try {
      await post("/v1/audit/heads", {});
      await renderSignedHead(ctx, card);
    } catch (e) {
      clear(note, errorBox(e));
    }
  });
  clear(card, title, loading());
  let head = null;
  let key = null;
  try {
    key = await get("/v1/audit/public-key");
    head = await get("/v1/audit/heads/latest");
  } catch (e) {
    if (e.kind === "not_found") {
      clear(card, title, h("p", { "data-testid": "no-head" }, "No head was signed yet: the server signs one on its schedule (--head-interval), or sign one now."), signNow, note);
      return;
    }
    if (e.code === "heads_unavailable") {
      clear(card, title, h("p", {}, e.message));
      return;
    }
    return ctx.fail(e, card);
  }
  const sig = canVerify() ? await verifyHead(head, key.public_key) : null;
  const sigText =
    sig === true ? badge("signature valid", "ok") : sig === false ? badge("signature INVALID", "bad") : badge("signature not checked here (no Ed25519 in this browser)", "");
  clear(
    card,
    title,
    h("p", { "data-testid": "head-signature" }, sigText, " checked in this browser against the server's head key."),
    fields([
      ["Tree size", h("span", { "data-testid": "head-size" }, fmtNum(head.tree_size))],
      ["Root hash", h("code", { class: "hash", "data-testid": "head-root" }, head.root_hash)],
      // The signed time (timestamp_us), not the answer's unsigned copy of it.
      ["Signed at", h("span", { "data-testid": "head-time" }, fmtTime(headTime(head)))],
      ["Public key (Ed25519)", h("code", { class: "hash" }, key.public_key)],
      // The key is the server's word: an auditor compares it with the one published elsewhere.
      ["Public key SHA-256", canVerify() ? h("code", { class: "hash", "data-testid": "head-key-sha256" }, await keyFingerprint(key.public_key)) : "—"],
    ]),
    h("details", {}, h("summary", {}, "Public key (PEM)"), h("pre", {}, key.pem)),
    signNow,
    note,
  );
}

export async function render(ctx) {
  ctx.main.append(h("h1", {}, "Audit"));
  if (!ctx.who.admin) {
    ctx.main.append(errorBox({ kind: "forbidden", message: "The log head and its verification cover every tenant: they need an admin key." }));
    return;
  }
  const headCard = h("section", { class: "card" }, h("h2", {}, "Log head"), loading());
  const from = h("input", { type: "number", name: "from", min: "1", placeholder: "1" });
  const to = h("input", { type: "number", name: "to", min: "1", placeholder: "the head" });
  const out = h("div", { "aria-live": "polite" });
  const verifyCard = h(
    "section",
    { class: "card" },
    h("h2", {}, "Verify the hash chain"),
    h("p", {}, "Recomputes every record's checksum and chain hash over the range and names the first bad record."),
    h(
      "form",
      {
        class: "inline-form",
        onsubmit: async (e) => {
          e.preventDefault();
          clear(out, loading("Verifying…"));
          try {
            const r = await get("/v1/audit/verify", { from: from.value, to: to.value });
            clear(
              out,
              h("div", { class: r.ok ? "ok-note" : "state error", "data-testid": "verify-result" },
                h("p", {}, r.ok ? badge("chain intact", "ok") : badge("chain broken", "bad"), ` ${fmtNum(r.checked)} records checked (seq ${r.from} to ${r.to}).`),
                fields([["Hash at the end", h("code", { class: "hash" }, r.head_hash)], r.first_bad ? ["First bad record", `seq ${r.first_bad.seq}: ${r.first_bad.problem}`] : null])),
            );
          } catch (err) {
            clear(out, errorBox(err));
          }
        },
      },
      field("From seq", from),
      field("To seq", to),
      button("Verify", undefined, { kind: "primary", type: "submit" }),
    ),
    out,
  );
  const signedCard = h("section", { class: "card" });
  const eventId = h("input", { type: "text", name: "event_id", placeholder: "evt_…", value: ctx.query.get("event") ?? "", spellcheck: "false" });
  const proofOut = h("div", { "aria-live": "polite" });
  const proofCard = h(
    "section",
    { class: "card" },
    h("h2", {}, "Prove an event is in the log"),
    h("p", {}, "Fetches the event's inclusion proof against the latest signed head and checks it here: the proven bytes are this event id's record, the path leads to the root, the head's signature verifies."),
    h("form", { class: "inline-form", onsubmit: (e) => { e.preventDefault(); showInclusion(proofOut, { id: eventId.value.trim() }); } },
      field("Event id", eventId),
      button("Prove", undefined, { kind: "primary", type: "submit" })),
    proofOut,
    h("p", { class: "muted small" }, "For an auditor's offline copy: hooklog export --proof writes a bundle of events with their proofs; hooklog proof verify checks it without the server (docs/AUDIT.md)."),
  );
  ctx.main.append(headCard, verifyCard, signedCard, proofCard);
  renderSignedHead(ctx, signedCard);
  if (eventId.value) showInclusion(proofOut, { id: eventId.value.trim() });
  try {
    const head = await get("/v1/audit/head");
    clear(headCard, h("h2", {}, "Log head"), fields([["Seq", fmtNum(head.seq)], ["Chain hash", h("code", { class: "hash", "data-testid": "head-hash" }, head.hash)], ["Recorded", fmtTime(head.recorded_at)]]));
  } catch (e) {
    ctx.fail(e, headCard);
  }
}
