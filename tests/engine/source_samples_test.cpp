// Every sample of every source normalizes to the expected fields; the catalog is complete.
#include <catch2/catch.hpp>

#include <filesystem>
#include <iterator>
#include <map>
#include <set>

#include "engine/log_test_util.hpp"
#include "hooklog_build_paths.hpp"
#include "source_test_util.hpp"
#include "support/temp_dir.hpp"

using namespace hooklog;
using hooklog::test::append_one;
using hooklog::test::file_for_type;
using hooklog::test::open_log;
using hooklog::test::read_file;
using hooklog::test::sample_path;
using hooklog::test::sources;
using hooklog::test::temp_dir;

namespace {

struct expected {
  const char* source;
  const char* file;  // data/samples/<source>/<file>.json
  const char* hint;  // ?type= given with it (only where the payload carries no type)
  const char* type;
  const char* tenant;
  const char* native_id;
  const char* entity_kind;
  const char* entity_id;
  const char* status_from;
  const char* status_to;
  std::int64_t occurred_at;
  bool test_mode;
};

// The 56 cataloged types of the five platforms. Expected values written by hand from the
// samples (times converted independently).
const expected kSamples[] = {
    {"jelp", "order_new", "order_new", "order_new", "jelp", "", "order", "42AT8WT", "", "PENDING",
     1707525454512000, false},  // 2024-02-10T00:37:34.512Z
    {"jelp", "folio_update", "folio_update", "folio_update", "jelp", "", "order", "42AQAQ6", "",
     "PENDING", 1707523879222000, false},  // 2024-02-10T00:11:19.222Z
    {"jelp", "order_update--assign_driver", "", "order_update:assign_driver", "jelp", "", "order",
     "AIEW902A", "", "", 1707520625073000, false},  // 2024-02-09T23:17:05.073Z
    {"jelp", "order_update--complete_order", "", "order_update:complete_order", "jelp", "", "order",
     "AIEW902A", "", "COMPLETED", 1707519748975000, false},  // 2024-02-09T23:02:28.975Z
    {"jelp", "order_update--cancel_order", "", "order_update:cancel_order", "jelp", "", "order",
     "AIEW902A", "", "CANCELLED", 1707519912410000, false},  // 2024-02-09T23:05:12.410Z
    {"jelp", "order_update--status_change", "order_update:status_change",
     "order_update:status_change", "jelp", "", "order", "AIEW902A", "", "TRANSIT", 1707521618039000,
     false},  // 2024-02-09T23:33:38.039Z
    {"jelp", "order_update--comment", "order_update:comment", "order_update:comment", "jelp", "",
     "order", "AIEW902A", "", "", 1661990400000000, false},  // 2022-09-01T00:00:00.000Z
    {"jelp", "order_update--decline_cancel_request", "order_update:decline_cancel_request",
     "order_update:decline_cancel_request", "jelp", "", "order", "AIEW902A", "", "",
     1661990400000000, false},  // 2022-09-01T00:00:00.000Z
    {"jelp", "order_update--tracking", "order_update:tracking", "order_update:tracking", "jelp", "",
     "order", "AIEW902A", "", "", 1661990400000000, false},  // 2022-09-01T00:00:00.000Z
    {"crowdsender", "trackingUpdated", "", "trackingUpdated", "default", "", "box",
     "3LkOSOBBZrw7oS2I1tbxaco4", "waiting", "generated label", 1641753000000000,
     false},  // 2022-01-09T18:30:00.000Z
    {"crowdsender", "statusUpdated", "", "statusUpdated", "default", "", "order",
     "3LkOSOBBZrw7oS2I1tbxaco5", "REGISTERED", "PENDING_TO_SHIP", 1641753000000000,
     false},  // 2022-01-09T18:30:00.000Z
    {"crowdsender", "sendDateUpdated", "", "sendDateUpdated", "default", "", "order",
     "3LkOSOBBZrw7oS2I1tbxaco5", "", "", 1641753000000000, true},  // 2022-01-09T18:30:00.000Z
    {"crowdsender", "courierUpdated", "", "courierUpdated", "default", "", "order",
     "3LkOSOBBZrw7oS2I1tbxaco5", "", "", 1641753000000000, false},  // 2022-01-09T18:30:00.000Z
    {"crowdsender", "destinationAddressUpdated", "", "destinationAddressUpdated", "default", "",
     "order", "3LkOSOBBZrw7oS2I1tbxaco5", "", "", 1641753000000000,
     false},  // 2022-01-09T18:30:00.000Z
    {"eudr", "supplier.created", "", "supplier.created", "int_abc", "", "supplier", "VENDOR-001",
     "", "", 1705314600000000, false},  // 2024-01-15T10:30:00.000Z
    {"eudr", "supplier.updated", "", "supplier.updated", "int_abc", "", "supplier", "VENDOR-001",
     "", "", 1705392765120000, false},  // 2024-01-16T08:12:45.120Z
    {"eudr", "supplier.deleted", "", "supplier.deleted", "int_abc", "", "supplier", "VENDOR-001",
     "", "", 1705770131004000, false},  // 2024-01-20T17:02:11.004Z
    {"eudr", "product.created", "", "product.created", "int_abc", "", "product", "PROD-COCOA-01",
     "", "", 1705314662500000, false},  // 2024-01-15T10:31:02.500Z
    {"eudr", "product.updated", "", "product.updated", "int_abc", "", "product", "PROD-COCOA-01",
     "", "", 1705482000000000, false},  // 2024-01-17T09:00:00.000Z
    {"eudr", "product.deleted", "", "product.deleted", "int_abc", "", "product", "PROD-COCOA-01",
     "", "", 1706788800000000, false},  // 2024-02-01T12:00:00.000Z
    {"eudr", "batch.created", "", "batch.created", "int_abc", "", "batch", "BATCH-001", "", "",
     1705314730250000, false},  // 2024-01-15T10:32:10.250Z
    {"eudr", "batch.updated", "", "batch.updated", "int_abc", "", "batch", "BATCH-001", "", "",
     1705589130000000, false},  // 2024-01-18T14:45:30.000Z
    {"eudr", "batch.deleted", "", "batch.deleted", "int_abc", "", "batch", "BATCH-001", "", "",
     1706859000000000, false},  // 2024-02-02T07:30:00.000Z
    {"eudr", "sync.completed", "", "sync.completed", "int_abc", "", "", "", "", "",
     1705314600000000, false},  // 2024-01-15T10:30:00.000Z
    {"eudr", "sync.failed", "", "sync.failed", "int_abc", "", "", "", "", "", 1705316400000000,
     false},  // 2024-01-15T11:00:00.000Z
    {"eudr", "dds.status_changed", "", "dds.status_changed", "int_abc", "", "dds", "DDS-2024-00042",
     "DRAFT", "SUBMITTED", 1705314600000000, false},  // 2024-01-15T10:30:00.000Z
    {"eudr", "dds.submitted", "", "dds.submitted", "int_abc", "", "dds", "DDS-2024-00042", "DRAFT",
     "SUBMITTED", 1705314605000000, false},  // 2024-01-15T10:30:05.000Z
    {"eudr", "dds.approved", "", "dds.approved", "int_abc", "", "dds", "DDS-2024-00042",
     "SUBMITTED", "APPROVED", 1705914867000000, false},  // 2024-01-22T09:14:27.000Z
    {"lynxo", "job.created", "", "job.created", "acc_7f3k2", "evt_01HR2K8Z0A1", "job", "job_48213",
     "", "created", 1709543565120000, false},  // 2024-03-04T09:12:45.120Z
    {"lynxo", "job.updated", "", "job.updated", "acc_7f3k2", "evt_01HR2K8Z0A2", "job", "job_48213",
     "created", "assigned", 1709544003500000, false},  // 2024-03-04T09:20:03.500Z
    {"lynxo", "job.deleted", "", "job.deleted", "acc_7f3k2", "evt_01HR2K8Z0A3", "job", "job_48213",
     "cancelled", "deleted", 1709654400000000, false},  // 2024-03-05T16:00:00.000Z
    {"lynxo", "job.pickup.updated", "", "job.pickup.updated", "acc_7f3k2", "evt_01HR2K8Z0A4",
     "pickup", "tsk_pk_77120", "arrived", "completed", 1709546531000000,
     false},  // 2024-03-04T10:02:11.000Z
    {"lynxo", "job.delivery.updated", "", "job.delivery.updated", "acc_7f3k2", "evt_01HR2K8Z0A5",
     "delivery", "tsk_dl_77121", "in_transit", "delivered", 1709552850250000,
     false},  // 2024-03-04T11:47:30.250Z
    {"lynxo", "customer.created", "", "customer.created", "acc_7f3k2", "evt_01HR2K8Z0A6",
     "customer", "cus_9921", "", "", 1709280000000000, false},  // 2024-03-01T08:00:00.000Z
    {"lynxo", "customer.updated", "", "customer.updated", "acc_7f3k2", "evt_01HR2K8Z0A7",
     "customer", "cus_9921", "", "", 1709368200000000, false},  // 2024-03-02T08:30:00.000Z
    {"lynxo", "address.created", "", "address.created", "acc_7f3k2", "evt_01HR2K8Z0A8", "address",
     "adr_5502", "", "", 1709280060000000, false},  // 2024-03-01T08:01:00.000Z
    {"lynxo", "address.updated", "", "address.updated", "acc_7f3k2", "evt_01HR2K8Z0A9", "address",
     "adr_5502", "", "", 1709467200000000, false},  // 2024-03-03T12:00:00.000Z
    {"lynxo", "address.deleted", "", "address.deleted", "acc_7f3k2", "evt_01HR2K8Z0AA", "address",
     "adr_5501", "", "", 1709726400000000, false},  // 2024-03-06T12:00:00.000Z
    {"oms", "package.created", "", "package.created", "acme-eu",
     "5f0c2d1e-8a7b-4c3d-9e2f-000000000001", "package", "48213", "", "waiting", 1709542800000000,
     false},  // 2024-03-04T09:00:00.000000Z
    {"oms", "package.status.transitioned", "", "package.status.transitioned", "acme-eu",
     "5f0c2d1e-8a7b-4c3d-9e2f-000000000002", "package", "48213", "waiting", "transitioned",
     1709546400000000, false},  // 2024-03-04T10:00:00.000000Z
    {"oms", "package.status.packed", "", "package.status.packed", "acme-eu",
     "5f0c2d1e-8a7b-4c3d-9e2f-000000000003", "package", "48213", "transitioned", "packed",
     1709550000000000, false},  // 2024-03-04T11:00:00.000000Z
    {"oms", "package.status.cancelled", "", "package.status.cancelled", "acme-eu",
     "5f0c2d1e-8a7b-4c3d-9e2f-000000000004", "package", "48213", "packed", "cancelled",
     1709553600000000, false},  // 2024-03-04T12:00:00.000000Z
    {"oms", "package.status.shipped", "", "package.status.shipped", "acme-eu",
     "5f0c2d1e-8a7b-4c3d-9e2f-000000000005", "package", "48213", "cancelled", "shipped",
     1709557200000000, false},  // 2024-03-04T13:00:00.000000Z
    {"oms", "package.status.packed_for_refund", "", "package.status.packed_for_refund", "acme-eu",
     "5f0c2d1e-8a7b-4c3d-9e2f-000000000006", "package", "48213", "shipped", "packed_for_refund",
     1709560800000000, false},  // 2024-03-04T14:00:00.000000Z
    {"oms", "package.shipment.awb_number", "", "package.shipment.awb_number", "acme-eu",
     "5f0c2d1e-8a7b-4c3d-9e2f-000000000007", "package", "48213", "", "", 1709565000000000,
     false},  // 2024-03-04T15:10:00.000000Z
    {"oms", "shipment.created", "", "shipment.created", "acme-eu",
     "5f0c2d1e-8a7b-4c3d-9e2f-000000000008", "shipment", "SHP-77812", "", "created",
     1709564400000000, false},  // 2024-03-04T15:00:00.000000Z
    {"oms", "shipment.status.updated", "", "shipment.status.updated", "acme-eu",
     "5f0c2d1e-8a7b-4c3d-9e2f-000000000009", "shipment", "SHP-77812", "created", "in_transit",
     1709627400000000, false},  // 2024-03-05T08:30:00.000000Z
    {"oms", "shipment.cancelled", "", "shipment.cancelled", "acme-eu",
     "5f0c2d1e-8a7b-4c3d-9e2f-000000000010", "shipment", "SHP-77812", "in_transit", "cancelled",
     1709629200000000, false},  // 2024-03-05T09:00:00.000000Z
    {"oms", "transfer.status.created", "", "transfer.status.created", "acme-eu",
     "5f0c2d1e-8a7b-4c3d-9e2f-000000000011", "transfer", "9051", "", "created", 1709684100000000,
     false},  // 2024-03-06T00:15:00.000000Z
    {"oms", "transfer.status.transitioned", "", "transfer.status.transitioned", "acme-eu",
     "5f0c2d1e-8a7b-4c3d-9e2f-000000000012", "transfer", "9051", "created", "transitioned",
     1709687700000000, false},  // 2024-03-06T01:15:00.000000Z
    {"oms", "transfer.status.in_transit", "", "transfer.status.in_transit", "acme-eu",
     "5f0c2d1e-8a7b-4c3d-9e2f-000000000013", "transfer", "9051", "transitioned", "in_transit",
     1709691300000000, false},  // 2024-03-06T02:15:00.000000Z
    {"oms", "transfer.status.transferred", "", "transfer.status.transferred", "acme-eu",
     "5f0c2d1e-8a7b-4c3d-9e2f-000000000014", "transfer", "9051", "in_transit", "transferred",
     1709694900000000, false},  // 2024-03-06T03:15:00.000000Z
    {"oms", "transfer.status.cancelled", "", "transfer.status.cancelled", "acme-eu",
     "5f0c2d1e-8a7b-4c3d-9e2f-000000000015", "transfer", "9051", "transferred", "cancelled",
     1709698500000000, false},  // 2024-03-06T04:15:00.000000Z
    {"oms", "transfer.status.ready_to_shipment", "", "transfer.status.ready_to_shipment", "acme-eu",
     "5f0c2d1e-8a7b-4c3d-9e2f-000000000016", "transfer", "9051", "cancelled", "ready_to_shipment",
     1709702100000000, false},  // 2024-03-06T05:15:00.000000Z
    {"oms", "stock_location.created", "", "stock_location.created", "acme-eu",
     "5f0c2d1e-8a7b-4c3d-9e2f-000000000017", "stock_location", "WH-IST-01", "", "",
     1709276400000000, false},  // 2024-03-01T07:00:00.000000Z
    {"oms", "stock_location.updated", "", "stock_location.updated", "acme-eu",
     "5f0c2d1e-8a7b-4c3d-9e2f-000000000018", "stock_location", "WH-IST-01", "", "",
     1709362800000000, false},  // 2024-03-02T07:00:00.000000Z
};

}  // namespace

TEST_CASE("every sample normalizes to its expected fields", "[source][samples]") {
  REQUIRE(std::size(kSamples) == 56);
  for (const expected& x : kSamples) {
    const std::string body = read_file(sample_path(x.source, x.file));
    INFO(x.source << "/" << x.file);
    ingest_input in;
    in.source = x.source;
    in.body = body;
    in.type_hint = x.hint;
    const auto ev = sources().normalize(in);
    REQUIRE(ev.ok());
    CHECK(ev->source == x.source);
    CHECK(ev->type == x.type);
    CHECK(ev->cataloged);
    CHECK(ev->tenant == x.tenant);
    CHECK(ev->native_id == x.native_id);
    // Sources without an event id de-duplicate by the body (their files say "body_hash").
    const std::string_view src = x.source;
    const bool by_body = src == "jelp" || src == "crowdsender" || src == "eudr";
    CHECK(ev->idempotency_key == (by_body ? body_hash_key(x.type, body) : x.native_id));
    CHECK(ev->entity_kind == x.entity_kind);
    CHECK(ev->entity_id == x.entity_id);
    CHECK(ev->status_from == x.status_from);
    CHECK(ev->status_to == x.status_to);
    CHECK(ev->occurred_at == x.occurred_at);
    CHECK(ev->test_mode == x.test_mode);
  }
}

TEST_CASE("the catalog lists the 56 seed types, each with a description and a sample",
          "[source][catalog]") {
  const auto catalog = sources().catalog();
  CHECK(catalog.size() == 56);
  std::set<std::string> listed;
  std::map<std::string, int> per_source;
  for (const catalog_entry& e : catalog) {
    INFO(e.source << " " << e.type);
    CHECK_FALSE(e.description.empty());
    CHECK(listed.insert(e.source + "/" + e.type).second);
    ++per_source[e.source];
    CHECK(std::filesystem::exists(sample_path(e.source, file_for_type(e.type))));
  }
  CHECK(per_source["lynxo"] == 10);
  CHECK(per_source["oms"] == 18);
  CHECK(per_source["jelp"] == 9);
  CHECK(per_source["crowdsender"] == 5);
  CHECK(per_source["eudr"] == 14);
  std::set<std::string> in_table;
  for (const expected& x : kSamples) in_table.insert(std::string(x.source) + "/" + x.type);
  CHECK(in_table == listed);
  CHECK(sources().names() ==
        std::vector<std::string>{"crowdsender", "eudr", "jelp", "lynxo", "oms", "standard"});
  CHECK(sources().catalog().front().source == "crowdsender");  // stable order: by source
}

TEST_CASE("every sample file is a cataloged type when posted with its name as ?type=",
          "[source][samples]") {
  namespace fs = std::filesystem;
  int n = 0;
  for (const auto& dir : fs::directory_iterator(std::string(HOOKLOG_DATA_DIR) + "/samples")) {
    const std::string source = dir.path().filename().string();
    for (const auto& f : fs::directory_iterator(dir.path())) {
      std::string type = f.path().stem().string();
      for (std::size_t p; (p = type.find("--")) != std::string::npos;) type.replace(p, 2, ":");
      const std::string body = read_file(f.path().string());
      INFO(f.path().string());
      const auto ev = sources().normalize({source, body, type, {}, {}});
      REQUIRE(ev.ok());
      CHECK(ev->type == type);
      CHECK(ev->cataloged);
      ++n;
    }
  }
  CHECK(n >= 56);
}

TEST_CASE("the standard envelope reads any producer's events", "[source][standard]") {
  const std::string paid = read_file(sample_path("standard", "invoice.paid"));
  auto ev = sources().normalize({"standard", paid, {}, {}, {}});
  REQUIRE(ev.ok());
  CHECK(ev->type == "invoice.paid");
  CHECK(ev->cataloged);
  CHECK(ev->tenant == "acme");
  CHECK(ev->native_id == "evt_2Zt9Qm");
  CHECK(ev->idempotency_key == "evt_2Zt9Qm");
  CHECK(ev->entity_kind == "invoice");
  CHECK(ev->entity_id == "INV-1001");
  CHECK(ev->status_from == "open");
  CHECK(ev->status_to == "paid");
  CHECK(ev->occurred_at == 1714564800000000);
  CHECK_FALSE(ev->test_mode);

  const std::string signup = read_file(sample_path("standard", "user.signed_up"));
  ev = sources().normalize({"standard", signup, {}, {}, {}});
  REQUIRE(ev.ok());
  CHECK(ev->type == "user.signed_up");
  CHECK(ev->tenant == "globex");
  CHECK(ev->native_id == "1717000000123");  // an integer id, accepted by the source file
  CHECK(ev->entity_kind.empty());
  CHECK(ev->entity_id.empty());
  CHECK(ev->status_to.empty());
  CHECK(ev->occurred_at == 1714564800000000);  // unix seconds
  CHECK(ev->test_mode);
}

TEST_CASE("tenant and idempotency key precedence", "[source]") {
  const std::string body = read_file(sample_path("eudr", "dds.approved"));
  auto ev = sources().normalize({"eudr", body, {}, {}, {}});
  REQUIRE(ev.ok());
  CHECK(ev->tenant == "int_abc");
  // eudr payloads carry no event id: the key is derived from the type and the body.
  CHECK(ev->idempotency_key == body_hash_key("dds.approved", body));
  CHECK(ev->idempotency_key.rfind("sha256:", 0) == 0);
  CHECK(ev->idempotency_key.size() == 7 + 64);
  ev = sources().normalize({"eudr", body, {}, "idem-42", "tenant-from-key"});
  REQUIRE(ev.ok());
  CHECK(ev->tenant == "tenant-from-key");
  CHECK(ev->idempotency_key == "idem-42");

  const std::string lynxo = read_file(sample_path("lynxo", "job.created"));
  ev = sources().normalize({"lynxo", lynxo, {}, {}, {}});
  REQUIRE(ev.ok());
  CHECK(ev->idempotency_key == "evt_01HR2K8Z0A1");
  ev = sources().normalize({"lynxo", lynxo, {}, "hdr-1", {}});
  REQUIRE(ev.ok());
  CHECK(ev->idempotency_key == "hdr-1");
  CHECK(ev->native_id == "evt_01HR2K8Z0A1");
}

TEST_CASE("types outside the catalog are accepted, flagged, and still understood",
          "[source][catalog]") {
  const std::string body =
      R"({"event_type":"package.status.returned","event_id":"e-1","created_at":"2024-03-04T09:00:00Z",)"
      R"("tenant_code":"acme-eu","data":{"id":"P-1","previous_status":"shipped"}})";
  const auto ev = sources().normalize({"oms", body, {}, {}, {}});
  REQUIRE(ev.ok());
  CHECK(ev->type == "package.status.returned");
  CHECK_FALSE(ev->cataloged);
  CHECK(ev->entity_kind == "package");
  CHECK(ev->entity_id == "P-1");
  CHECK(ev->status_from == "shipped");
  CHECK(ev->status_to == "returned");

  const auto rec = source_registry::to_record(ev.value(), body);
  CHECK(rec.kind == record_kind::event_received);
  CHECK(rec.flags == record_flags::kUncataloged);
  CHECK(rec.body == body);
  CHECK(rec.type == "package.status.returned");
  CHECK(rec.status_to == "returned");
}

TEST_CASE("to_record copies every field and the body byte for byte", "[source]") {
  const std::string body = read_file(sample_path("crowdsender", "sendDateUpdated"));
  const auto ev = sources().normalize({"crowdsender", body, {}, "k1", "t1"});
  REQUIRE(ev.ok());
  const record r = source_registry::to_record(ev.value(), body);
  CHECK(r.kind == record_kind::event_received);
  CHECK(r.flags == record_flags::kTestMode);
  CHECK(r.source == "crowdsender");
  CHECK(r.type == "sendDateUpdated");
  CHECK(r.tenant == "t1");
  CHECK(r.idempotency_key == "k1");
  CHECK(r.entity_kind == "order");
  CHECK(r.entity_id == "3LkOSOBBZrw7oS2I1tbxaco5");
  CHECK(r.occurred_at == ev->occurred_at);
  CHECK(r.body == body);
  CHECK(r.seq == 0);
  CHECK(r.recorded_at == 0);
}

TEST_CASE("a payload time of exactly 1970-01-01T00:00:00Z is kept, not taken for no time",
          "[source][time]") {
  // 0 µs was also "the payload has none", so the log put the recorded time in its place.
  temp_dir dir;
  auto log = open_log(dir.path());
  for (const std::string ts :
       {R"("1970-01-01T00:00:00Z")", R"("1970-01-01T01:00:00+01:00")", "0"}) {
    const std::string body = R"({"type":"a.b","timestamp":)" + ts + "}";
    auto ev = sources().normalize({"standard", body, {}, {}, {}});
    REQUIRE(ev.ok());
    CHECK(ev->occurred_given);
    CHECK(ev->occurred_at == 0);
    const auto seq = append_one(*log, source_registry::to_record(ev.value(), body));
    auto stored = log->get(seq);
    REQUIRE(stored.ok());
    REQUIRE(*stored);
    INFO(body);
    CHECK((*stored)->occurred_at == 0);
    CHECK((*stored)->recorded_at > 0);
  }
  // Without a time the recorded time stands in, as before.
  const std::string none = R"({"type":"a.b"})";
  auto ev = sources().normalize({"standard", none, {}, {}, {}});
  REQUIRE(ev.ok());
  CHECK_FALSE(ev->occurred_given);
  auto stored = log->get(append_one(*log, source_registry::to_record(ev.value(), none)));
  REQUIRE(stored.ok());
  REQUIRE(*stored);
  CHECK((*stored)->occurred_at == (*stored)->recorded_at);
}

TEST_CASE("a numeric time reaches the last microsecond of year 9999, as text does",
          "[source][time]") {
  for (const std::string ts : {"253402300799999999", R"("9999-12-31T23:59:59.999999Z")"}) {
    auto ev =
        sources().normalize({"standard", R"({"type":"a.b","timestamp":)" + ts + "}", {}, {}, {}});
    INFO(ts);
    REQUIRE(ev.ok());
    CHECK(ev->occurred_at == 253402300799999999);
  }
  auto over = sources().normalize(
      {"standard", R"({"type":"a.b","timestamp":253402300800000000})", {}, {}, {}});
  CHECK_FALSE(over.ok());
}
