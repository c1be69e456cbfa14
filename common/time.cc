#include "common/time.h"

#include <chrono>
#include <cstdio>

#include <date/date.h>

namespace cotenant {
namespace {

constexpr int64_t kMicrosPerDay = 86'400'000'000;

// Error messages quote user input; keep them short when the input is not.
std::string Quote(std::string_view s) {
  constexpr size_t kMax = 64;
  std::string out = "'";
  out.append(s.substr(0, kMax));
  if (s.size() > kMax) out += "...";
  out += "'";
  return out;
}

Status Bad(std::string_view text, std::string_view why) {
  return Status::InvalidArgument("invalid timestamp " + Quote(text) + ": " + std::string(why));
}

// Exactly `n` ASCII digits at `pos`.
bool Digits(std::string_view s, size_t pos, size_t n, int* out) {
  if (pos + n > s.size()) return false;
  int v = 0;
  for (size_t i = pos; i < pos + n; ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
    v = v * 10 + (s[i] - '0');
  }
  *out = v;
  return true;
}

}  // namespace

std::string FormatTimestamp(int64_t micros) {
  // Floor division, so instants before 1970 land on the right day.
  int64_t days = micros / kMicrosPerDay;
  int64_t rem = micros % kMicrosPerDay;
  if (rem < 0) {
    rem += kMicrosPerDay;
    --days;
  }
  date::year_month_day ymd{date::sys_days{date::days{days}}};
  const int64_t secs = rem / 1'000'000;
  const int64_t frac = rem % 1'000'000;
  char buf[80];
  int n = std::snprintf(buf, sizeof buf, "%04d-%02u-%02uT%02lld:%02lld:%02lld",
                        static_cast<int>(ymd.year()), static_cast<unsigned>(ymd.month()),
                        static_cast<unsigned>(ymd.day()), static_cast<long long>(secs / 3600),
                        static_cast<long long>(secs / 60 % 60), static_cast<long long>(secs % 60));
  std::string out(buf, static_cast<size_t>(n));
  if (frac != 0) {
    n = frac % 1000 == 0
            ? std::snprintf(buf, sizeof buf, ".%03lld", static_cast<long long>(frac / 1000))
            : std::snprintf(buf, sizeof buf, ".%06lld", static_cast<long long>(frac));
    out.append(buf, static_cast<size_t>(n));
  }
  out += 'Z';
  return out;
}

Status ParseTimestamp(std::string_view text, int64_t* micros, TimeForms forms) {
  const bool lenient = forms == TimeForms::kLenient;
  int year, month, day;
  if (!Digits(text, 0, 4, &year) || text.size() < 5 || text[4] != '-' ||
      !Digits(text, 5, 2, &month) || text.size() < 8 || text[7] != '-' ||
      !Digits(text, 8, 2, &day)) {
    return Bad(text, "expected YYYY-MM-DD at the start");
  }
  if (month < 1 || month > 12) return Bad(text, "month out of range 01..12");
  date::year_month_day ymd{date::year{year}, date::month{static_cast<unsigned>(month)},
                           date::day{static_cast<unsigned>(day)}};
  if (day < 1 || !ymd.ok()) return Bad(text, "day out of range for the month");
  int64_t seconds = int64_t{date::sys_days{ymd}.time_since_epoch().count()} * 86400;
  if (text.size() == 10) {
    *micros = seconds * 1'000'000;
    return Status::OK();
  }
  if (text[10] != 'T' && !(lenient && text[10] == ' ')) {
    return Bad(text, "expected 'T' after the date");
  }
  int hour, minute, second = 0;
  if (!Digits(text, 11, 2, &hour) || text.size() < 14 || text[13] != ':' ||
      !Digits(text, 14, 2, &minute)) {
    return Bad(text, "expected HH:MM:SS after 'T'");
  }
  size_t pos = 16;
  if (pos < text.size() && text[pos] == ':') {
    if (!Digits(text, 17, 2, &second)) return Bad(text, "expected HH:MM:SS after 'T'");
    pos = 19;
  } else if (!lenient) {
    return Bad(text, "expected HH:MM:SS after 'T'");
  }
  if (hour > 23) return Bad(text, "hour out of range 00..23");
  if (minute > 59) return Bad(text, "minute out of range 00..59");
  if (second > 59) return Bad(text, "second out of range 00..59");
  int64_t frac = 0;
  if (pos < text.size() && text[pos] == '.') {
    ++pos;
    size_t digits = 0;
    while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9') {
      if (++digits > 6) return Bad(text, "more than 6 fraction digits");
      frac = frac * 10 + (text[pos] - '0');
      ++pos;
    }
    if (digits == 0) return Bad(text, "expected digits after '.'");
    for (; digits < 6; ++digits) frac *= 10;
  }
  int64_t offset = 0;
  if (pos >= text.size()) {
    if (!lenient) return Bad(text, "missing time zone (Z, +HH:MM or -HH:MM)");
  } else if (text[pos] == 'Z') {
    ++pos;
  } else if (text[pos] == '+' || text[pos] == '-') {
    int oh, om;
    // +HH:MM always; +HHMM as well when lenient.
    size_t minutes_at = pos + 4;
    bool colon = pos + 3 < text.size() && text[pos + 3] == ':';
    if (!colon && lenient) minutes_at = pos + 3;
    if (!Digits(text, pos + 1, 2, &oh) || (!colon && !lenient) || !Digits(text, minutes_at, 2, &om)) {
      return Bad(text, "expected time zone offset +HH:MM or -HH:MM");
    }
    if (oh > 23 || om > 59) return Bad(text, "time zone offset out of range");
    offset = (oh * 3600 + om * 60) * (text[pos] == '-' ? -1 : 1);
    pos = minutes_at + 2;
  } else {
    return Bad(text, "expected time zone (Z, +HH:MM or -HH:MM)");
  }
  if (pos != text.size()) return Bad(text, "unexpected text after the time zone");
  seconds += hour * 3600 + minute * 60 + second - offset;
  *micros = seconds * 1'000'000 + frac;
  return Status::OK();
}

}  // namespace cotenant
