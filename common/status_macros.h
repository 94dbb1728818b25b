// Early-return helpers for absl::Status and absl::StatusOr.
//
// Abseil 20220623 (Debian bookworm) ships Status/StatusOr but not these two
// macros, so they are written once here.
//
//   RETURN_IF_ERROR(WriteHeader(file));
//   ASSIGN_OR_RETURN(ModelConfig config, ParseModelConfig(json, path));
//   ASSIGN_OR_RETURN(auto file, SafetensorsFile::Open(path));
#ifndef TERN_COMMON_STATUS_MACROS_H_
#define TERN_COMMON_STATUS_MACROS_H_

#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/logging.h"

#define TERN_STATUS_CONCAT_INNER_(x, y) x##y
#define TERN_STATUS_CONCAT_(x, y) TERN_STATUS_CONCAT_INNER_(x, y)

// Evaluates `expr` (an absl::Status); returns it from the enclosing function
// if it is not OK.
#define RETURN_IF_ERROR(expr)                                              \
  do {                                                                     \
    ::absl::Status tern_status_ = (expr);                                  \
    if (!tern_status_.ok()) return tern_status_;                           \
  } while (false)

// Evaluates `rexpr` (an absl::StatusOr<T>); on error returns its status,
// otherwise moves the value into `lhs`, which may be a declaration. Expands
// to several statements: brace it when it is the body of an `if`.
#define ASSIGN_OR_RETURN(lhs, rexpr) \
  TERN_ASSIGN_OR_RETURN_IMPL_(TERN_STATUS_CONCAT_(tern_statusor_, __LINE__), lhs, rexpr)

#define TERN_ASSIGN_OR_RETURN_IMPL_(statusor, lhs, rexpr) \
  auto statusor = (rexpr);                                \
  if (!statusor.ok()) return std::move(statusor).status(); \
  lhs = std::move(statusor).value()

// Aborts with the status message if `expr` (an absl::Status) is not OK. For
// statuses that can only fail when an invariant is broken.
#define CHECK_OK(expr)                                               \
  do {                                                               \
    const ::absl::Status tern_check_status_ = (expr);                \
    CHECK(tern_check_status_.ok()) << tern_check_status_.ToString(); \
  } while (false)

#endif  // TERN_COMMON_STATUS_MACROS_H_
