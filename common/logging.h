// Minimal logging and invariant checks.
//
//   LOG(INFO) << "loaded " << n << " tensors";
//   CHECK_EQ(block.ref_count, 0) << "double free of block " << id;
//
// LOG(FATAL) and failed CHECKs print the message and abort: they are for
// broken invariants, never for bad input (bad input returns absl::Status).
// Lines go to stderr as `I1121 12:00:00.123456 tid file.cc:42] message`.
//
// Thread safety: all macros may be used from any thread; each message is
// written with a single write so lines never interleave.
#ifndef TERN_COMMON_LOGGING_H_
#define TERN_COMMON_LOGGING_H_

#include <sstream>
#include <string>

namespace tern {

enum class LogSeverity { kInfo = 0, kWarning = 1, kError = 2, kFatal = 3 };

// Messages below `severity` are dropped (FATAL is never dropped). Default: kInfo.
void SetMinLogSeverity(LogSeverity severity);
LogSeverity MinLogSeverity();

// Parses "info", "warning", "error" (case-insensitive). Returns false if unknown.
bool ParseLogSeverity(const std::string& text, LogSeverity* severity);

// SetMinLogSeverity of a parsed name (a --log-level value); false, changing
// nothing, if ParseLogSeverity does not know it.
bool SetMinLogSeverityByName(const std::string& text);

namespace logging_internal {

class LogMessage {
 public:
  LogMessage(const char* file, int line, LogSeverity severity);
  ~LogMessage();  // Writes the line; aborts for kFatal.
  LogMessage(const LogMessage&) = delete;
  LogMessage& operator=(const LogMessage&) = delete;
  std::ostream& stream() { return stream_; }

 private:
  const char* file_;
  int line_;
  LogSeverity severity_;
  std::ostringstream stream_;
};

// Swallows the stream expression in the false branch of a ternary.
struct Voidify {
  void operator&(std::ostream&) {}
};

// Builds "a == b (3 vs. 4)" for CHECK_op; returns nullptr if the check holds.
template <typename A, typename B, typename Op>
std::string* CheckOpMessage(const A& a, const B& b, Op op, const char* text) {
  if (op(a, b)) return nullptr;
  std::ostringstream out;
  out << text << " (" << a << " vs. " << b << ")";
  return new std::string(out.str());
}

class CheckOpFailure {
 public:
  CheckOpFailure(const char* file, int line, std::string* message)
      : message_(message), log_(file, line, LogSeverity::kFatal) {
    log_.stream() << "Check failed: " << *message_ << " ";
  }
  ~CheckOpFailure() { delete message_; }
  std::ostream& stream() { return log_.stream(); }

 private:
  std::string* message_;
  LogMessage log_;
};

}  // namespace logging_internal
}  // namespace tern

#define TERN_LOG_SEVERITY_INFO ::tern::LogSeverity::kInfo
#define TERN_LOG_SEVERITY_WARNING ::tern::LogSeverity::kWarning
#define TERN_LOG_SEVERITY_ERROR ::tern::LogSeverity::kError
#define TERN_LOG_SEVERITY_FATAL ::tern::LogSeverity::kFatal

#define LOG(severity)                                                           \
  (TERN_LOG_SEVERITY_##severity < ::tern::MinLogSeverity())                     \
      ? (void)0                                                                 \
      : ::tern::logging_internal::Voidify() &                                   \
            ::tern::logging_internal::LogMessage(__FILE__, __LINE__,            \
                                                 TERN_LOG_SEVERITY_##severity)  \
                .stream()

#define CHECK(condition)                                                             \
  (condition) ? (void)0                                                              \
              : ::tern::logging_internal::Voidify() &                                \
                    ::tern::logging_internal::LogMessage(__FILE__, __LINE__,         \
                                                         ::tern::LogSeverity::kFatal) \
                            .stream()                                                \
                        << "Check failed: " #condition " "

// `while` rather than `if`: no dangling-else surprises; the body never returns.
#define TERN_CHECK_OP_(a, b, op, op_text)                                             \
  while (std::string* tern_check_message_ = ::tern::logging_internal::CheckOpMessage(    \
          (a), (b), [](const auto& x, const auto& y) { return x op y; },               \
          #a " " op_text " " #b))                                                     \
  ::tern::logging_internal::CheckOpFailure(__FILE__, __LINE__, tern_check_message_).stream()

#define CHECK_EQ(a, b) TERN_CHECK_OP_(a, b, ==, "==")
#define CHECK_NE(a, b) TERN_CHECK_OP_(a, b, !=, "!=")
#define CHECK_LT(a, b) TERN_CHECK_OP_(a, b, <, "<")
#define CHECK_LE(a, b) TERN_CHECK_OP_(a, b, <=, "<=")
#define CHECK_GT(a, b) TERN_CHECK_OP_(a, b, >, ">")
#define CHECK_GE(a, b) TERN_CHECK_OP_(a, b, >=, ">=")

#ifdef NDEBUG
#define DCHECK(condition) \
  while (false) CHECK(condition)
#define DCHECK_EQ(a, b) \
  while (false) CHECK_EQ(a, b)
#define DCHECK_LT(a, b) \
  while (false) CHECK_LT(a, b)
#define DCHECK_LE(a, b) \
  while (false) CHECK_LE(a, b)
#else
#define DCHECK(condition) CHECK(condition)
#define DCHECK_EQ(a, b) CHECK_EQ(a, b)
#define DCHECK_LT(a, b) CHECK_LT(a, b)
#define DCHECK_LE(a, b) CHECK_LE(a, b)
#endif

#endif  // TERN_COMMON_LOGGING_H_
