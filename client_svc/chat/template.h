// A parsed Jinja template, rendered any number of times (see lexer.h,
// parser.h and interpreter.h for what is supported and how renders are
// bounded).
//
//   ASSIGN_OR_RETURN(auto tmpl, jinja::Template::Parse("Hello {{ name }}!"));
//   ASSIGN_OR_RETURN(std::string text, tmpl->Render({{"name", jinja::Value("Tern")}}));
//
// Thread safety: immutable after Parse; Render may run on any number of
// threads at once.
#ifndef TERN_CLIENT_SVC_CHAT_TEMPLATE_H_
#define TERN_CLIENT_SVC_CHAT_TEMPLATE_H_

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "client_svc/chat/ast.h"
#include "client_svc/chat/interpreter.h"
#include "client_svc/chat/lexer.h"

namespace tern::jinja {

// Templates longer than this are refused.
inline constexpr size_t kMaxTemplateBytes = size_t{4} << 20;

class Template {
 public:
  // Parses `source`. INVALID_ARGUMENT (naming the line) for syntax errors and
  // unsupported tags; never crashes on any input.
  static absl::StatusOr<std::unique_ptr<Template>> Parse(absl::string_view source,
                                                         const LexerOptions& options = {});

  // Renders with `variables` defined. Errors: INVALID_ARGUMENT for template
  // errors (undefined values used, type errors, raise_exception),
  // RESOURCE_EXHAUSTED when a limit is exceeded.
  absl::StatusOr<std::string> Render(const std::vector<std::pair<std::string, Value>>& variables,
                                     const RenderLimits& limits = {}) const;

  const NodeList& nodes() const { return nodes_; }

 private:
  explicit Template(NodeList nodes) : nodes_(std::move(nodes)) {}
  NodeList nodes_;
};

}  // namespace tern::jinja

#endif  // TERN_CLIENT_SVC_CHAT_TEMPLATE_H_
