#include "engine/thread_name.hpp"

#include <pthread.h>

#include <algorithm>
#include <array>

namespace hooklog {

void set_thread_name(std::string_view name) {
  std::array<char, 16> buf{};  // the kernel's TASK_COMM_LEN, with its terminating zero
  const std::size_t n = std::min(name.size(), buf.size() - 1);
  std::copy_n(name.data(), n, buf.data());
  (void)::pthread_setname_np(::pthread_self(), buf.data());
}

}  // namespace hooklog
