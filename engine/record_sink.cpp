#include "engine/record_sink.hpp"

#include <memory>
#include <utility>

namespace hooklog {

std::future<record_sink::outcomes> record_sink::submit(std::vector<record> records) {
  auto promise = std::make_shared<std::promise<outcomes>>();
  auto future = promise->get_future();
  submit(std::move(records), [promise](outcomes&& o) { promise->set_value(std::move(o)); });
  return future;
}

result<append_outcome> record_sink::append(record r) {
  std::vector<record> one;
  one.push_back(std::move(r));
  auto o = submit(std::move(one)).get();
  return std::move(o.front());
}

}  // namespace hooklog
