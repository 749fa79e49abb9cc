// What a refusal names in error::field; duplicate keys on the paths a source reads; control
// characters in tenants and types.
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
  // Control characters elsewhere (an entity id, unread fields) are the platform's business.
  const auto ev = accepted(
      "standard", R"({"type":"a","tenant":"t","entity":{"kind":"k","id":"i\u0001"},"x":"\n"})");
  CHECK(ev.entity_id == "i\x01");
  // Non-ASCII is not a control character.
  CHECK(accepted("standard", R"({"type":"ordér.créé","tenant":"t\"2"})").type == "ordér.créé");
}

TEST_CASE("no source may give an event the tree heads' entity kind", "[source][fields]") {
  // Signed tree heads are indexed under it (engine/tree_head.hpp): refused, naming the field.
  const error e =
      refused("standard", R"({"type":"a","entity":{"kind":"tree_head","id":"z1"}})");
  CHECK(e.code == source_errc::bad_value);
  CHECK(e.field == "/entity/kind");
  CHECK(e.message == "the entity kind \"tree_head\" is reserved for hooklog's signed tree heads");
  // Another kind, and the same text as an id, pass.
  CHECK(sources().normalize({"standard", R"({"type":"a","entity":{"kind":"tree_heads","id":"tree_head"}})", {}, {}, {}}).ok());
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
