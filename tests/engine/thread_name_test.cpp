// set_thread_name (engine/thread_name.hpp): the calling thread's name in /proc, cut to 15 bytes.
#include <catch2/catch.hpp>

#include <sys/syscall.h>
#include <unistd.h>

#include <fstream>
#include <string>
#include <thread>

#include "engine/thread_name.hpp"

namespace {

std::string own_comm() {
  std::ifstream in("/proc/self/task/" + std::to_string(::syscall(SYS_gettid)) + "/comm");
  std::string name;
  std::getline(in, name);
  return name;
}

}  // namespace

TEST_CASE("set_thread_name names the calling thread only, cut to 15 bytes") {
  std::string named, long_named;
  std::thread([&] {
    hooklog::set_thread_name("log-writer");
    named = own_comm();
    hooklog::set_thread_name("a-name-longer-than-fifteen-bytes");
    long_named = own_comm();
  }).join();
  CHECK(named == "log-writer");
  CHECK(long_named == "a-name-longer-t");
  CHECK(own_comm() != "log-writer");  // this thread kept its own
}
