// What a refusal names in error::field; duplicate keys on the paths a source reads; control
// characters in types, tenants, event ids, entities and statuses.
#include <catch2/catch.hpp>

#include "engine/json_text.hpp"
#include "source_test_util.hpp"

using namespace hooklog;
using hooklog::test::accepted;
using hooklog::test::sources;

namespace {

error refused(std::string_view source, std::string_view body, std::string_view hint = {},
              std::string_view idem = {}, std::string_view tenant = {}) {
  auto ev = sources().normalize({source, body, hint, idem, tenant});
  REQUIRE_FALSE(ev.ok());
  return ev.err();
}

}  // namespace

TEST_CASE("refusals name the field at fault", "[source][fields]") {
  struct refusal_case {
    std::string source, body, hint, idem;
    source_errc code;
    std::string field;
  };
  const std::string long_id(300, 'x');
  const refusal_case cases[] = {
      // missing: a required field, or the event type (the first pointer of the type rule)
      {"jelp", R"({"folio":null,"queueName":"comment"})", "", "", source_errc::missing_field,
       "/folio"},
      {"eudr", R"({"event":"dds.submitted","data":{}})", "", "", source_errc::missing_field,
       "/data/ddsNumber"},
      {"jelp", R"({"folio":"F1"})", "", "", source_errc::missing_field, "/queueName"},
      // wrong JSON type, nested, in a time, in test mode, in an entity id
      {"jelp", R"({"folio":12345,"queueName":"comment"})", "", "", source_errc::wrong_type,
       "/folio"},
      {"jelp", R"({"folio":"F1","status":7})", "order_update:status_change", "",
       source_errc::wrong_type, "/status"},
      {"crowdsender", R"({"type":"statusUpdated","data":{"orderId":"o1","newValue":[]}})", "", "",
       source_errc::wrong_type, "/data/newValue"},
      {"eudr", R"({"event":"sync.completed","timestamp":"yesterday","data":{}})", "", "",
       source_errc::wrong_type, "/timestamp"},
      {"crowdsender", R"({"type":"statusUpdated","liveMode":"yes","data":{"orderId":"o1"}})", "",
       "", source_errc::wrong_type, "/liveMode"},
      {"standard", R"({"type":"a","timestamp":1e300})", "", "", source_errc::wrong_type,
       "/timestamp"},
      // too long: a payload field, the URL hint, the header
      {"jelp", R"({"folio":")" + long_id + R"(","queueName":"comment"})", "", "",
       source_errc::wrong_type, "/folio"},
      {"jelp", R"({"folio":"F1"})", long_id, "", source_errc::wrong_type, "?type"},
      {"jelp", R"({"folio":"F1","queueName":"comment"})", "", long_id, source_errc::wrong_type,
       "Idempotency-Key"},
  };
  for (const refusal_case& c : cases) {
    INFO(c.source << " " << c.body);
    const error e = refused(c.source, c.body, c.hint, c.idem);
    CHECK(e.code == c.code);
    CHECK(e.field == c.field);
  }
  // Not about one field: no field.
  CHECK(refused("standard", "{\"type\":").field.empty());
  CHECK(refused("standard", "[1]").field.empty());
}

TEST_CASE("duplicate keys on a path the source reads are refused", "[source][duplicate]") {
  // jelp reads /status (status_change), /folio, /workspace, /workspaceData/slug ...
  const std::string hint = "order_update:status_change";
  error e = refused("jelp", R"({"folio":"F1","status":"TRANSIT","status":"COMPLETED"})", hint);
  CHECK(e.code == source_errc::duplicate_key);
  CHECK(e.field == "/status");
  CHECK(e.message ==
        "duplicate key at /status: hooklog reads this field and a receiver could read the other "
        "copy");
  // The same key written with an escape is the same key.
  e = refused("jelp", R"({"folio":"F1","status":"TRANSIT","st\u0061tus":"COMPLETED"})", hint);
  CHECK(e.field == "/status");
  // Nested: a member on the way (the object holding the field) or the field itself.
  e = refused("jelp", R"({"folio":"F1","workspaceData":{"slug":"a"},"workspaceData":{"slug":"b"}})",
              hint);
  CHECK(e.field == "/workspaceData");
  e = refused("jelp", R"({"folio":"F1","workspaceData":{"slug":"a","x":[{"slug":1}],"slug":"b"}})",
              hint);
  CHECK(e.field == "/workspaceData/slug");
  e = refused("crowdsender", R"({"type":"statusUpdated","data":{"orderId":"o1","orderId":"o2"}})");
  CHECK(e.field == "/data/orderId");
  // A field of another rule of the same source counts too (any pointer the file names).
  e = refused("jelp", R"({"folio":"F1","orderStep":"A","orderStep":"B"})", hint);
  CHECK(e.field == "/orderStep");
  // Keys hooklog never reads may repeat: the body is kept byte for byte, as sent.
  const auto ev = accepted(
      "jelp",
      R"({"folio":"F1","status":"TRANSIT","note":"a","note":"b","x":{"status":1,"status":2}})",
      hint);
  CHECK(ev.status_to == "TRANSIT");
  // Inside strings and unread arrays nothing is a key.
  accepted(
      "jelp",
      R"({"folio":"F1","status":"TRANSIT","s":"\"status\":1,\"status\":2","a":[{"status":1},{"status":2}]})",
      hint);
}

TEST_CASE("find_duplicate_key walks only watched paths", "[source][duplicate]") {
  key_paths w;
  w.add(*json_pointer::parse("/a/b"));
  w.add(*json_pointer::parse("/list/1/id"));
  w.add(*json_pointer::parse("/x~1y"));
  CHECK_FALSE(find_duplicate_key(R"({"a":{"b":1,"c":2,"c":3},"z":1,"z":2})", w));
  CHECK(find_duplicate_key(R"({"a":{"b":1,"b":2}})", w) == std::optional<std::string>("/a/b"));
  CHECK(find_duplicate_key(R"( { "a" : 1 , "a" : { } } )", w) == std::optional<std::string>("/a"));
  CHECK_FALSE(find_duplicate_key(R"({"list":[{"id":1,"id":2},{"id":3}]})", w));
  CHECK(find_duplicate_key(R"({"list":[{"id":1,"id":2},{"id":3,"id":4}]})", w) ==
        std::optional<std::string>("/list/1/id"));
  CHECK(find_duplicate_key(R"({"x/y":1,"x\/y":2})", w) == std::optional<std::string>("/x~1y"));
  CHECK_FALSE(find_duplicate_key(R"({"a":"}{\"b\":1,\"b\":2}","b":[1,"]"]})", w));
  CHECK_FALSE(find_duplicate_key(R"({"a":{"b":1}})", key_paths{}));
  CHECK(find_duplicate_key("\xEF\xBB\xBF{\"a\":1,\"a\":2}", w) == std::optional<std::string>("/a"));
  CHECK(find_duplicate_key(R"({"s":"\\","a":{"b":"\\\"","b":2}})", w) ==
        std::optional<std::string>("/a/b"));
}

TEST_CASE("control characters in a tenant or a type are refused", "[source][control]") {
  const std::string hint = "order_update:status_change";
  // From the payload: the type (\u0000 and a raw tab) and the tenant.
  error e = refused("standard", R"({"type":"order.updated\u0000x","tenant":"t1"})");
  CHECK(e.code == source_errc::bad_value);
  CHECK(e.field == "/type");
  CHECK(e.message ==
        "the event type from field /type holds the control character U+0000 at byte 13; control "
        "characters are not allowed");
  e = refused("standard", "{\"type\":\"a\",\"tenant\":\"t\\u001b[31m\"}");
  CHECK(e.code == source_errc::bad_value);
  CHECK(e.field == "/tenant");
  e = refused("jelp", R"({"folio":"F1","workspaceData":{"slug":"ws\u007f"}})", hint);
  CHECK(e.field == "/workspaceData/slug");
  CHECK(e.message ==
        "the tenant from field /workspaceData/slug holds the control character U+007F at byte 2; "
        "control characters are not allowed");
  // From the URL's ?type=.
  e = refused("jelp", R"({"folio":"F1"})", std::string("order_new\0", 10));
  CHECK(e.code == source_errc::bad_value);
  CHECK(e.field == "?type");
  // The forced tenant (an API key's): refused, no field of the request to name.
  e = refused("standard", R"({"type":"a"})", {}, {}, std::string("t\n1"));
  CHECK(e.code == source_errc::bad_value);
  CHECK(e.field.empty());
  // Control characters in fields hooklog does not read are the platform's business.
  const auto ev = accepted(
      "standard", R"({"type":"a","tenant":"t","entity":{"kind":"k","id":"i"},"x":"\n"})");
  CHECK(ev.entity_id == "i");
  // Non-ASCII is not a control character.
  CHECK(accepted("standard", R"({"type":"ordér.créé","tenant":"t\"2"})").type == "ordér.créé");
}

TEST_CASE("control characters in an event id, an entity kind or id or a status are refused",
          "[source][control]") {
  // Each is an index key or a text line's word (tail, timeline): refused as a type or a tenant is,
  // naming the JSON pointer it came from.
  const struct {
    std::string source, body, hint, field, message;
  } cases[] = {
      {"standard", R"({"type":"a","id":"e\n1"})", "", "/id",
       "the event id from field /id holds the control character U+000A at byte 1"},
      {"standard", R"({"type":"a","entity":{"kind":"or\u0000der","id":"1"}})", "", "/entity/kind",
       "the entity kind from field /entity/kind holds the control character U+0000 at byte 2"},
      {"standard", R"({"type":"a","entity":{"kind":"order","id":"1\r\nX"}})", "", "/entity/id",
       "the entity id from field /entity/id holds the control character U+000D at byte 1"},
      {"standard", R"({"type":"a","entity":{"kind":"k","id":"1"},"status":{"to":"\u001b[2J"}})", "",
       "/status/to", "the status from field /status/to holds the control character U+001B at byte 0"},
      {"standard",
       R"({"type":"a","entity":{"kind":"k","id":"1"},"status":{"from":"A\tB","to":"C"}})", "",
       "/status/from",
       "the previous status from field /status/from holds the control character U+0009 at byte 1"},
      // A platform's own fields: jelp's folio is the entity id, its status the status.
      {"jelp", R"({"folio":"F\u007f1","status":"TRANSIT"})", "order_update:status_change", "/folio",
       "the entity id from field /folio holds the control character U+007F at byte 1"},
      {"jelp", R"({"folio":"F1","status":"TRANSIT\n"})", "order_update:status_change", "/status",
       "the status from field /status holds the control character U+000A at byte 7"},
  };
  for (const auto& c : cases) {
    INFO(c.body);
    const error e = refused(c.source, c.body, c.hint);
    CHECK(e.code == source_errc::bad_value);
    CHECK(e.field == c.field);
    CHECK(e.message == c.message + "; control characters are not allowed");
  }
  // An id without a kind is no entity (nothing of it is kept): not refused.
  CHECK(accepted("standard", R"({"type":"a","entity":{"id":"i\u0001"}})").entity_id.empty());
  // A status is read only for an entity: without one, not refused.
  CHECK(accepted("standard", R"({"type":"a","status":{"to":"\n"}})").status_to.empty());
  // Non-ASCII is not a control character.
  const auto ev = accepted(
      "standard",
      R"({"type":"a","id":"é1","entity":{"kind":"ordén","id":"ñ"},"status":{"from":"ü","to":"ß"}})");
  CHECK(ev.entity_kind == "ordén");
  CHECK(ev.entity_id == "ñ");
  CHECK(ev.status_from == "ü");
  CHECK(ev.status_to == "ß");
  CHECK(ev.native_id == "é1");
}

TEST_CASE("no source may give an event an entity kind of hooklog's own records", "[source][fields]") {
  // Signed tree heads, endpoints (and their attempts), replays and keys are filed under these
  // kinds (engine/record.hpp): refused, naming the field.
  for (const std::string kind : {"tree_head", "endpoint", "replay", "key"}) {
    INFO(kind);
    const error e = refused("standard", R"({"type":"a","entity":{"kind":")" + kind + R"(","id":"z1"}})");
    CHECK(e.code == source_errc::bad_value);
    CHECK(e.field == "/entity/kind");
    CHECK(e.message == "the entity kind \"" + kind +
                           "\" is reserved for hooklog's own records (endpoint, replay, key, tree_head)");
  }
  // Other kinds, and the same texts as ids, pass.
  CHECK(sources().normalize({"standard", R"({"type":"a","entity":{"kind":"tree_heads","id":"tree_head"}})", {}, {}, {}}).ok());
  CHECK(sources().normalize({"standard", R"({"type":"a","entity":{"kind":"Replay","id":"replay"}})", {}, {}, {}}).ok());
  CHECK(sources().normalize({"standard", R"({"type":"a","entity":{"kind":"endpoints","id":"key"}})", {}, {}, {}}).ok());
}

TEST_CASE("a time outside years 1..9999 once its offset or unit is applied is refused",
          "[source][fields][time]") {
  for (const char* ts : {R"("0001-01-01T00:00:00+01:00")", R"("9999-12-31T23:30:00-01:00")",
                         "-99999999999", "-62135596801", "-62135596800000001"}) {
    const auto e = refused("standard", std::string(R"({"type":"t","timestamp":)") + ts + "}");
    INFO(ts << ": " << e.message);
    CHECK(e.code == make_error_code(source_errc::wrong_type));
    CHECK(e.field == "/timestamp");
  }
  // The boundaries themselves are times.
  CHECK(accepted("standard", R"({"type":"t","timestamp":-62135596800})").occurred_at ==
        -62'135'596'800'000'000LL);
  CHECK(accepted("standard", R"({"type":"t","timestamp":"9999-12-31T23:59:59.999999Z"})")
            .occurred_at == 253'402'300'799'999'999LL);
}

TEST_CASE("a tenant, entity kind and id longer together than an index key holds are refused",
          "[source][fields]") {
  // Each within the 256-byte field limit; together past record_format.hpp's 448.
  const std::string kind(200, 'k'), id(250, 'i');
  const std::string body = R"({"id":"e1","type":"t","tenant":"t1","entity":{"kind":")" + kind +
                           R"(","id":")" + id + R"("},"status":{"to":"A"}})";
  const error e = refused("standard", body);
  CHECK(e.code == source_errc::bad_value);
  CHECK(e.message ==
        "the tenant, entity kind and entity id are 452 bytes together, more than the limit of 448");
  CHECK(e.field == "/entity/id");
  // At the limit it is accepted.
  const std::string fits = R"({"id":"e1","type":"t","tenant":"t1","entity":{"kind":")" + kind +
                           R"(","id":")" + std::string(246, 'i') + R"("},"status":{"to":"A"}})";
  CHECK(sources().normalize({"standard", fits, {}, {}, {}}).ok());
  // The tenant with a long Idempotency-Key: the idempotency index's key.
  const std::string tenant(200, 't');
  const error ei = refused("standard", R"({"id":"e1","type":"t","tenant":")" + tenant + R"("})",
                           {}, std::string(250, 'x'));
  CHECK(ei.code == source_errc::bad_value);
  CHECK(ei.message == "the tenant, source and idempotency key are 458 bytes together, more than "
                      "the limit of 448");
  CHECK(ei.field == "Idempotency-Key");
}
