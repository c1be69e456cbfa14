// Timestamps: the strict forms of the wire and the lenient ones of the command line.

#include "common/time.h"

#include <random>

#include <gtest/gtest.h>

namespace cotenant {
namespace {

TEST(TimestampTest, FormatExamples) {
  EXPECT_EQ(FormatTimestamp(0), "1970-01-01T00:00:00Z");
  EXPECT_EQ(FormatTimestamp(1714564800000000), "2024-05-01T12:00:00Z");
  EXPECT_EQ(FormatTimestamp(1714564800250000), "2024-05-01T12:00:00.250Z");
  EXPECT_EQ(FormatTimestamp(1714564800000001), "2024-05-01T12:00:00.000001Z");
  EXPECT_EQ(FormatTimestamp(-1), "1969-12-31T23:59:59.999999Z");
  EXPECT_EQ(FormatTimestamp(-86400000000), "1969-12-31T00:00:00Z");
  EXPECT_EQ(FormatTimestamp(951782400000000), "2000-02-29T00:00:00Z");
}

TEST(TimestampTest, ParseAcceptsDocumentedForms) {
  struct Case {
    const char* text;
    int64_t micros;
  } cases[] = {
      {"1970-01-01", 0},
      {"2024-05-01", 1714521600000000},
      {"2024-05-01T12:00:00Z", 1714564800000000},
      {"2024-05-01T12:00:00.25Z", 1714564800250000},
      {"2024-05-01T12:00:00.250000Z", 1714564800250000},
      {"2024-05-01T12:00:00.000001Z", 1714564800000001},
      {"2024-05-01T14:00:00+02:00", 1714564800000000},
      {"2024-05-01T07:30:00-04:30", 1714564800000000},
      {"1969-12-31T23:59:59.999999Z", -1},
      {"2000-02-29T00:00:00Z", 951782400000000},
      {"0001-01-01T00:00:00Z", -62135596800000000},
      {"9999-12-31T23:59:59Z", 253402300799000000},
  };
  for (const auto& c : cases) {
    int64_t micros = 12345;
    Status st = ParseTimestamp(c.text, &micros);
    ASSERT_TRUE(st.ok()) << c.text << ": " << st.ToString();
    EXPECT_EQ(micros, c.micros) << c.text;
  }
}

TEST(TimestampTest, ParseRejectsWithReasons) {
  struct Case {
    const char* text;
    const char* reason;
  } cases[] = {
      {"", "expected YYYY-MM-DD"},
      {"2024-5-01", "expected YYYY-MM-DD"},
      {"24-05-01", "expected YYYY-MM-DD"},
      {"2024/05/01", "expected YYYY-MM-DD"},
      {"2024-13-01", "month out of range"},
      {"2024-00-10", "month out of range"},
      {"2023-02-29", "day out of range"},
      {"2024-04-31", "day out of range"},
      {"2024-05-00", "day out of range"},
      {"2024-05-01 12:00:00Z", "expected 'T'"},
      {"2024-05-01t12:00:00Z", "expected 'T'"},
      {"2024-05-01T", "expected HH:MM:SS"},
      {"2024-05-01T12:00Z", "expected HH:MM:SS"},
      {"2024-05-01T24:00:00Z", "hour out of range"},
      {"2024-05-01T12:60:00Z", "minute out of range"},
      {"2024-05-01T12:00:60Z", "second out of range"},
      {"2024-05-01T12:00:00", "missing time zone"},
      {"2024-05-01T12:00:00.Z", "expected digits after '.'"},
      {"2024-05-01T12:00:00.1234567Z", "more than 6 fraction digits"},
      {"2024-05-01T12:00:00+0200", "expected time zone offset"},
      {"2024-05-01T12:00:00+24:00", "offset out of range"},
      {"2024-05-01T12:00:00z", "expected time zone"},
      {"2024-05-01T12:00:00ZZ", "unexpected text after the time zone"},
      {"2024-05-01x", "expected 'T'"},
  };
  for (const auto& c : cases) {
    int64_t micros = 0;
    Status st = ParseTimestamp(c.text, &micros);
    ASSERT_TRUE(st.IsInvalidArgument()) << c.text;
    EXPECT_NE(st.message().find(c.reason), std::string::npos)
        << c.text << " -> " << st.message();
    EXPECT_NE(st.message().find(std::string("'") + c.text + "'"), std::string::npos)
        << st.message();
  }
}

TEST(TimestampTest, RandomFormatParseRoundTrip) {
  std::mt19937_64 rng(20240501);
  // Years 0001..9999, the range the text form can carry.
  std::uniform_int_distribution<int64_t> dist(-62135596800000000, 253402300799999999);
  for (int i = 0; i < 20000; ++i) {
    int64_t micros = dist(rng);
    if (i % 3 == 0) micros -= micros % 1000000;  // whole seconds too
    std::string text = FormatTimestamp(micros);
    int64_t back = 0;
    ASSERT_TRUE(ParseTimestamp(text, &back).ok()) << text;
    ASSERT_EQ(back, micros) << text;
  }
}

TEST(TimestampTest, LenientFormsForTheCommandLine) {
  constexpr int64_t kS = 1'000'000;
  int64_t t = 1714564800 * kS;  // 2024-05-01T12:00:00Z
  struct Case {
    const char* text;
    int64_t micros;
  } cases[] = {
      {"2024-05-01T12:00:00Z", t},
      {"2024-05-01T12:00:00", t},  // no zone = UTC
      {"2024-05-01T12:00", t},
      {"2024-05-01 12:00:00Z", t},
      {"2024-05-01T14:00:00+02:00", t},
      {"2024-05-01T07:00:00-0500", t},
      {"2024-05-01", t - 12 * 3600 * kS},
      {"2024-05-01T12:00:00.5Z", t + 500000},
  };
  for (const auto& c : cases) {
    int64_t micros = 0;
    Status st = ParseTimestamp(c.text, &micros, TimeForms::kLenient);
    ASSERT_TRUE(st.ok()) << c.text << ": " << st.ToString();
    EXPECT_EQ(micros, c.micros) << c.text;
  }
  for (const char* bad : {"", "2024", "2024-5-1", "2024-13-01", "2023-02-29", "2024-04-31",
                          "2024-05-01T25:00", "2024-05-01T12:60", "2024-05-01T12:00:61Z",
                          "2024-05-01T12:00:00.1234567Z", "2024-05-01T12:00:00Zjunk",
                          "2024-05-01T", "2024-05-01T12", "2024-05-01T12:00+2", "yesterday"}) {
    int64_t micros = 42;
    EXPECT_TRUE(ParseTimestamp(bad, &micros, TimeForms::kLenient).IsInvalidArgument()) << bad;
    EXPECT_EQ(micros, 42) << bad;
  }
  // The lenient forms are not accepted where the strict ones are required.
  int64_t micros = 0;
  EXPECT_TRUE(ParseTimestamp("2024-05-01T12:00", &micros).IsInvalidArgument());
  EXPECT_TRUE(ParseTimestamp("2024-05-01T07:00:00-0500", &micros).IsInvalidArgument());
}

}  // namespace
}  // namespace cotenant
