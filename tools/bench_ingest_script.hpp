#pragma once
// hooklog-bench-ingest's load: one ~N-byte JSON event of the standard source split around its
// unique parts (make_template), and the wrk Lua script that POSTs it, singly or as NDJSON
// batches, each event with an id unique across the run and an entity from a fixed set
// (write_script). Pure functions except write_script(), which writes its file. Header-only:
// each benchmark is one executable.
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <string>

namespace hooklog::bench {

// One ~body_bytes JSON event for the standard source, split around its unique parts:
//   head <id> mid <entity n> tail
struct event_template {
  std::string head, mid, tail;
};

inline event_template make_template(int body_bytes) {
  event_template t;
  t.head = R"({"id":")";
  t.mid = R"(","type":"order.updated","timestamp":"2024-05-01T12:00:00Z","tenant":"t1",)"
          R"("entity":{"kind":"order","id":"ord-)";
  std::string tail =
      R"("},"status":{"from":"open","to":"paid"},"data":{"amount":1250,"currency":"EUR",)"
      R"("customer":{"name":"Ada Lovelace","email":"ada@example.com","country":"GB"},)"
      R"("lines":[{"sku":"SKU-1001","qty":2,"price":250},{"sku":"SKU-2002","qty":1,"price":750}],)"
      R"("note":")";
  // A typical id ("b1-2-123456") and entity ("123") fill about 15 bytes.
  const int fixed = static_cast<int>(t.head.size() + t.mid.size() + tail.size() + 15 + 4);
  const int pad = std::max(0, body_bytes - fixed);
  std::string note;
  const char* words =
      "lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod tempor ";
  while (static_cast<int>(note.size()) < pad) note += words;
  note.resize(pad);
  t.tail = tail + note + "\"}}";
  return t;
}

inline std::string lua_string(const std::string& s) {
  std::string q = "\"";
  for (char ch : s) {
    if (ch == '"' || ch == '\\') q += '\\';
    if (ch == '\n') {
      q += "\\n";
      continue;
    }
    q += ch;
  }
  return q + "\"";
}

// A wrk script that POSTs `per_request` events per request (1: a JSON body; more: NDJSON),
// each with an id unique across the whole run: <tag>-<wrk thread>-<request counter>[-<line>],
// behind 8 random hex digits and a '-' with random_ids; sent with `admin_key`. Returns the file's
// path.
inline std::string write_script(const std::filesystem::path& file, const std::string& path,
                                const std::string& tag, const event_template& t, int per_request,
                                int entities, bool random_ids, const std::string& admin_key) {
  std::ofstream out(file);
  out << "local head = " << lua_string(t.head) << "\n"
      << "local mid = " << lua_string(t.mid) << "\n"
      << "local tail = " << lua_string(t.tail) << "\n"
      << "local path = " << lua_string(path) << "\n"
      << "local tag = " << lua_string(tag) << "\n"
      << "local per_request = " << per_request << "\n"
      << "local entities = " << std::max(1, entities) << "\n"
      << "local random_ids = " << (random_ids ? "true" : "false") << "\n"
      << "local headers = {[\"Authorization\"] = \"Bearer " << admin_key
      << "\", [\"Content-Type\"] = "
      << (per_request == 1 ? "\"application/json\"" : "\"application/x-ndjson\"") << "}\n"
      << R"(local nthreads = 0
function setup(thread)
  nthreads = nthreads + 1
  thread:set("tid", nthreads)
end
local counter = 0
local pre = nil
function request()
  if pre == nil then
    pre = tag .. "-" .. tostring(tid) .. "-"
    math.randomseed(tid * 7919)
  end
  counter = counter + 1
  local id = pre .. counter
  if random_ids then id = string.format("%08x", math.random(0, 0x7fffffff)) .. "-" .. id end
  if per_request == 1 then
    return wrk.format("POST", path, headers, head .. id .. mid .. (counter % entities) .. tail)
  end
  local parts = {}
  local k = 0
  for i = 1, per_request do
    parts[k + 1] = head
    parts[k + 2] = id
    parts[k + 3] = "-"
    parts[k + 4] = i
    parts[k + 5] = mid
    parts[k + 6] = (counter * per_request + i) % entities
    parts[k + 7] = tail
    parts[k + 8] = "\n"
    k = k + 8
  end
  return wrk.format("POST", path, headers, table.concat(parts))
end
)";
  return file.string();
}

}  // namespace hooklog::bench
