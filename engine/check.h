// CHECK macros for bugs (broken invariants), in the spirit of absl/log/check.h, which the
// abseil of Debian 12 (20220623) does not ship yet. A failed check prints the condition,
// the place and the streamed message to stderr, then aborts. Expected failures (bad
// input, missing files) are absl::Status, never CHECKs.
#ifndef GLASERVE_ENGINE_CHECK_H_
#define GLASERVE_ENGINE_CHECK_H_

#include <sstream>

namespace glaserve::internal {

class CheckFailure {
 public:
  CheckFailure(const char* file, int line, const char* condition);
  [[noreturn]] ~CheckFailure();
  std::ostream& stream() { return message_; }

 private:
  std::ostringstream message_;
};

// Lets `CHECK(x) << "why"` be a single expression whose stream part runs only on failure.
struct Voidify {
  void operator&(std::ostream&) {}
};

}  // namespace glaserve::internal

#define CHECK(condition)                                                                    \
  (condition) ? (void)0                                                                     \
              : ::glaserve::internal::Voidify() &                                           \
                    ::glaserve::internal::CheckFailure(__FILE__, __LINE__, #condition).stream()

#define GLASERVE_CHECK_OP(op, a, b) CHECK((a)op(b)) << "(" << (a) << " vs " << (b) << ") "
#define CHECK_EQ(a, b) GLASERVE_CHECK_OP(==, a, b)
#define CHECK_NE(a, b) GLASERVE_CHECK_OP(!=, a, b)
#define CHECK_LT(a, b) GLASERVE_CHECK_OP(<, a, b)
#define CHECK_LE(a, b) GLASERVE_CHECK_OP(<=, a, b)
#define CHECK_GT(a, b) GLASERVE_CHECK_OP(>, a, b)
#define CHECK_GE(a, b) GLASERVE_CHECK_OP(>=, a, b)

#endif  // GLASERVE_ENGINE_CHECK_H_
