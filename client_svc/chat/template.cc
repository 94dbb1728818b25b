#include "client_svc/chat/template.h"

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "client_svc/chat/parser.h"
#include "client_svc/tokenizer/utf8.h"
#include "common/status_macros.h"

namespace tern::jinja {

absl::StatusOr<std::unique_ptr<Template>> Template::Parse(absl::string_view source,
                                                          const LexerOptions& options) {
  if (source.size() > kMaxTemplateBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("template is ", source.size(), " bytes; the limit is ", kMaxTemplateBytes));
  }
  if (!IsValidUtf8(source)) return absl::InvalidArgumentError("template is not valid UTF-8");
  ASSIGN_OR_RETURN(std::vector<Token> tokens, Tokenize(source, options));
  ASSIGN_OR_RETURN(NodeList nodes, jinja::Parse(tokens));
  return std::unique_ptr<Template>(new Template(std::move(nodes)));
}

absl::StatusOr<std::string> Template::Render(
    const std::vector<std::pair<std::string, Value>>& variables, const RenderLimits& limits) const {
  Interpreter interpreter(limits);
  for (const auto& [name, value] : variables) interpreter.SetVariable(name, value);
  return interpreter.Run(nodes_);
}

}  // namespace tern::jinja
