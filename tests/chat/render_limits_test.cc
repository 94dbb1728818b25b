// Rendering is bounded: runaway templates end in an error, never a hang or a
// crash.
#include <string>

#include "client_svc/chat/template.h"
#include "gtest/gtest.h"

namespace tern::jinja {
namespace {

absl::StatusOr<std::string> Render(const std::string& source, const RenderLimits& limits = {}) {
  absl::StatusOr<std::unique_ptr<Template>> tmpl = Template::Parse(source);
  if (!tmpl.ok()) return tmpl.status();
  return (*tmpl)->Render({}, limits);
}

std::string Repeat(const std::string& piece, int times) {
  std::string out;
  for (int i = 0; i < times; ++i) out += piece;
  return out;
}

TEST(RenderLimitsTest, NestedLoopsRunOutOfSteps) {
  absl::StatusOr<std::string> out = Render(
      "{% for a in range(100000) %}{% for b in range(100000) %}{{ b }}{% endfor %}{% endfor %}");
  EXPECT_EQ(out.status().code(), absl::StatusCode::kResourceExhausted) << out.status();
}

TEST(RenderLimitsTest, StepBudgetIsConfigurable) {
  RenderLimits limits;
  limits.max_steps = 50;
  EXPECT_EQ(Render("{% for i in range(100) %}{{ i }}{% endfor %}", limits).status().code(),
            absl::StatusCode::kResourceExhausted);
  EXPECT_TRUE(Render("{% for i in range(3) %}{{ i }}{% endfor %}", limits).ok());
}

TEST(RenderLimitsTest, OutputLargerThanTheCapIsAnError) {
  RenderLimits limits;
  limits.max_output_bytes = 1000;
  EXPECT_EQ(Render("{% for i in range(200) %}0123456789{% endfor %}", limits).status().code(),
            absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(Render(Repeat("x", 999), limits)->size(), 999u);
}

TEST(RenderLimitsTest, HugeStringsAndListsAreRefused) {
  EXPECT_FALSE(Render("{{ 'a' * 10000000000 }}").ok());
  EXPECT_FALSE(Render("{{ ([1] * 100000000) | length }}").ok());
  EXPECT_FALSE(Render("{{ range(1000000) | list | length }}").ok());
  EXPECT_FALSE(Render("{% set ns = namespace(s='ab') %}{% for i in range(64) %}"
                      "{% set ns.s = ns.s + ns.s %}{% endfor %}{{ ns.s | length }}")
                   .ok());
}

TEST(RenderLimitsTest, StringBuildersCheckTheirResultSizeBeforeBuilding) {
  const char* cases[] = {
      "{{ ('x' * 1000000).replace('', 'yyyyyy') | length }}",
      "{{ ('\n' * 1000000) | indent(200) | length }}",
      "{{ (('%999s' * 10000) % (('a',) * 10000)) | length }}",
      "{{ ('{0}' * 100000).format('x' * 1000) | length }}",
      "{{ (['x' * 100000] * 100) | tojson(indent=64) | length }}",
      "{{ ((['x' * 1000000] * 1000) ~ '') | length }}",
      "{{ (['y' * 100000] * 1000) | join | length }}",
  };
  for (const char* source : cases) {
    EXPECT_EQ(Render(source).status().code(), absl::StatusCode::kResourceExhausted) << source;
  }
}

TEST(RenderLimitsTest, RunawayMacroRecursionStopsAtTheCallDepth) {
  absl::StatusOr<std::string> out = Render("{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}{{ f(0) }}");
  EXPECT_EQ(out.status().code(), absl::StatusCode::kResourceExhausted) << out.status();
}

TEST(RenderLimitsTest, DeeplyNestedSourceIsASyntaxError) {
  EXPECT_EQ(Render("{{ " + Repeat("(", 20000) + "1" + Repeat(")", 20000) + " }}").status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Render("{{ " + Repeat("[", 20000) + Repeat("]", 20000) + " }}").status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Render(Repeat("{% if true %}", 5000) + Repeat("{% endif %}", 5000)).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Render("{{ 1" + Repeat(" + 1", 20000) + " }}").status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Render("{{ x" + Repeat(".a", 20000) + " }}").status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Render("{{ 'x'" + Repeat(" | trim", 20000) + " }}").status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Render("{{ " + Repeat("not ", 20000) + "1 }}").status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(RenderLimitsTest, ModeratelyNestedSourceStillRenders) {
  absl::StatusOr<std::string> parens = Render("{{ " + Repeat("(", 50) + "1" + Repeat(")", 50) + " }}");
  ASSERT_TRUE(parens.ok()) << parens.status();
  EXPECT_EQ(*parens, "1");
  absl::StatusOr<std::string> sum = Render("{{ 0" + Repeat(" + 1", 100) + " }}");
  ASSERT_TRUE(sum.ok()) << sum.status();
  EXPECT_EQ(*sum, "100");
  absl::StatusOr<std::string> blocks = Render(Repeat("{% if true %}", 60) + "deep" + Repeat("{% endif %}", 60));
  ASSERT_TRUE(blocks.ok()) << blocks.status();
  EXPECT_EQ(*blocks, "deep");
}

TEST(RenderLimitsTest, ValuesCannotBeNestedWithoutBound) {
  EXPECT_FALSE(Render("{% set ns = namespace(x=[]) %}{% for i in range(5000) %}"
                      "{% set ns.x = [ns.x] %}{% endfor %}done")
                   .ok());
  EXPECT_FALSE(Render(Repeat("{% set x = [x] %}", 3000) + "done").ok());
  EXPECT_TRUE(Render(Repeat("{% set x = [x] %}", 100) + "{{ x | length }}").ok());
}

TEST(RenderLimitsTest, NamespacesCannotHoldNamespaces) {
  EXPECT_FALSE(Render("{% set ns = namespace() %}{% set ns.self = ns %}{{ ns }}").ok());
  EXPECT_FALSE(Render("{% set ns = namespace() %}{% set ns.l = [ns] %}").ok());
}

TEST(RenderLimitsTest, DeepValuesPrintAndSerializeWithinBounds) {
  const std::string deep = Repeat("{% set x = [x] %}", 200);
  EXPECT_TRUE(Render(deep + "{{ x }}").ok());
  EXPECT_EQ(Render(deep + "{{ x | tojson }}").status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(RenderLimitsTest, TimeoutStopsALongRender) {
  RenderLimits limits;
  limits.timeout = absl::Milliseconds(20);
  limits.max_steps = int64_t{1} << 40;
  absl::StatusOr<std::string> out = Render(
      "{% for a in range(100000) %}{% for b in range(100000) %}{% endfor %}{% endfor %}", limits);
  EXPECT_EQ(out.status().code(), absl::StatusCode::kResourceExhausted) << out.status();
}

}  // namespace
}  // namespace tern::jinja
