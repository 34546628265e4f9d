#include "server/metrics/text_format.h"

#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace glaserve::metrics {
namespace {

TEST(TextFormatTest, EscapesLabelValues) {
  EXPECT_EQ(EscapeLabelValue("plain"), "plain");
  EXPECT_EQ(EscapeLabelValue(R"(C:\dir)"), R"(C:\\dir)");
  EXPECT_EQ(EscapeLabelValue(R"(say "hi")"), R"(say \"hi\")");
  EXPECT_EQ(EscapeLabelValue("two\nlines"), R"(two\nlines)");
  EXPECT_EQ(EscapeLabelValue("\\\"\n"), R"(\\\"\n)");
  // Other whitespace and non-ASCII UTF-8 pass through untouched.
  EXPECT_EQ(EscapeLabelValue("tab\there"), "tab\there");
  EXPECT_EQ(EscapeLabelValue("caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80"),
            "caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80");
  EXPECT_EQ(EscapeLabelValue(""), "");
}

TEST(TextFormatTest, EscapesHelpWithoutTouchingQuotes) {
  EXPECT_EQ(EscapeHelp(R"(Time "to" first token, in s\ms)"), R"(Time "to" first token, in s\\ms)");
  EXPECT_EQ(EscapeHelp("line one\nline two"), R"(line one\nline two)");
}

TEST(TextFormatTest, ReplacesInvalidUtf8) {
  // A lone continuation byte, a truncated sequence, an overlong '/' and a surrogate.
  EXPECT_EQ(EscapeLabelValue("a\x80z"), "a\xEF\xBF\xBDz");
  EXPECT_EQ(EscapeLabelValue("a\xE2\x82"), "a\xEF\xBF\xBD\xEF\xBF\xBD");
  EXPECT_EQ(EscapeLabelValue("\xC0\xAF"), "\xEF\xBF\xBD\xEF\xBF\xBD");
  EXPECT_EQ(EscapeLabelValue("\xED\xA0\x80"), "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");
  EXPECT_EQ(EscapeHelp("bad \xFF byte"), "bad \xEF\xBF\xBD byte");
}

TEST(TextFormatTest, FormatsValuesAsPrometheusParsesThem) {
  EXPECT_EQ(FormatValue(0), "0");
  EXPECT_EQ(FormatValue(-0.0), "0");
  EXPECT_EQ(FormatValue(42), "42");
  EXPECT_EQ(FormatValue(-7), "-7");
  EXPECT_EQ(FormatValue(800000), "800000");
  EXPECT_EQ(FormatValue(1e15), "1000000000000000");
  EXPECT_EQ(FormatValue(0.25), "0.25");
  EXPECT_EQ(FormatValue(0.1), "0.1");
  EXPECT_EQ(FormatValue(2.5e-3), "0.0025");
  EXPECT_EQ(FormatValue(1e-9), "1e-09");
  EXPECT_EQ(FormatValue(1e300), "1e+300");
  EXPECT_EQ(FormatValue(std::numeric_limits<double>::infinity()), "+Inf");
  EXPECT_EQ(FormatValue(-std::numeric_limits<double>::infinity()), "-Inf");
  EXPECT_EQ(FormatValue(std::nan("")), "NaN");
  // Whatever the form, it reads back as the same double.
  for (double v : {0.1 + 0.2, 1.0 / 3, 123456.789, 9007199254740993.0, -2.5e-300}) {
    EXPECT_EQ(std::stod(FormatValue(v)), v) << FormatValue(v);
  }
}

TEST(TextFormatTest, FormatsLabelSets) {
  const std::vector<std::string> names = {"phase", "path"};
  EXPECT_EQ(FormatLabels(names, {"decode", "a\"b"}), R"(phase="decode",path="a\"b")");
  EXPECT_EQ(FormatLabels({}, {}), "");
}

TEST(TextFormatTest, AppendsHeaderAndSamples) {
  std::string out;
  AppendFamilyHeader(out, "x_total", "Help with \\ and\nnewline.", "counter");
  AppendSample(out, "x_total", "", "1");
  AppendSample(out, "x_total", R"(a="b")", "2");
  EXPECT_EQ(out,
            "# HELP x_total Help with \\\\ and\\nnewline.\n"
            "# TYPE x_total counter\n"
            "x_total 1\n"
            "x_total{a=\"b\"} 2\n");
}

}  // namespace
}  // namespace glaserve::metrics
