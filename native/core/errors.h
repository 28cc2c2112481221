// Errors raised by the kernels and the engine. The addon maps each kind onto the matching
// JS error class (TypeError / RangeError / Error), so a bad call never crashes the process.
#pragma once
#include <stdexcept>
#include <string>

namespace hg {

enum class ErrorKind { Type, Range, Generic };

struct Error : std::runtime_error {
  ErrorKind kind;
  Error(ErrorKind k, const std::string& msg) : std::runtime_error(msg), kind(k) {}
};

[[noreturn]] inline void throw_range(const std::string& msg) { throw Error(ErrorKind::Range, msg); }
[[noreturn]] inline void throw_type(const std::string& msg) { throw Error(ErrorKind::Type, msg); }
[[noreturn]] inline void throw_error(const std::string& msg) { throw Error(ErrorKind::Generic, msg); }

// HG_CHECK(cond, msg): a precondition that user input can violate -> RangeError.
#define HG_CHECK(cond, msg)                   \
  do {                                        \
    if (!(cond)) ::hg::throw_range(msg);      \
  } while (0)

}  // namespace hg
