#pragma once
// Errors are exceptions whose message names the op and the shapes, dtypes and devices
// involved. Nothing in subtb aborts or prints and carries on.
#include <sstream>
#include <stdexcept>
#include <string>

namespace subtb {

class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Concatenates anything that has an operator<< into one string.
template <class... Args>
std::string str(const Args&... args) {
  std::ostringstream os;
  (os << ... << args);
  return os.str();
}

}  // namespace subtb

// SUBTB_CHECK(cond, "op: ", what, ...) throws subtb::Error with the message when cond fails.
#define SUBTB_CHECK(cond, ...)                          \
  do {                                                  \
    if (!(cond)) [[unlikely]] {                         \
      throw ::subtb::Error(::subtb::str(__VA_ARGS__)); \
    }                                                   \
  } while (0)

#define SUBTB_THROW(...) throw ::subtb::Error(::subtb::str(__VA_ARGS__))
