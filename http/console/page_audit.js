// Audit (admin keys): the log head (seq and chain hash) and a verification of the hash chain.
import { get } from "./api.js";
import { badge, button, clear, errorBox, field, fields, fmtNum, fmtTime, h, loading } from "./ui.js";

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
    h("p", { class: "muted small" }, "Signed heads, inclusion proofs and bundles will appear here once the server offers them."),
  );
  ctx.main.append(headCard, verifyCard);
  try {
    const head = await get("/v1/audit/head");
    clear(headCard, h("h2", {}, "Log head"), fields([["Seq", fmtNum(head.seq)], ["Chain hash", h("code", { class: "hash", "data-testid": "head-hash" }, head.hash)], ["Recorded", fmtTime(head.recorded_at)]]));
  } catch (e) {
    ctx.fail(e, headCard);
  }
}
