// ISO-8601 timestamps: the one parser and printer every Cotenant component uses, so the
// server, the SDK and the CLI print and accept the same forms.
//
// Times are microseconds since 1970-01-01T00:00:00Z (negative before), in the proleptic
// Gregorian calendar, years 0001..9999.
//
// Thread safety: the functions are pure.

#ifndef COTENANT_COMMON_TIME_H_
#define COTENANT_COMMON_TIME_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "common/status.h"

namespace cotenant {

// "2024-05-01T12:00:00Z"; a fraction only when non-zero, as milliseconds when that is
// exact ("2024-05-01T12:00:00.250Z"), else as microseconds (".000001Z").
std::string FormatTimestamp(int64_t micros);

enum class TimeForms : unsigned char {
  // The wire and criteria form: "YYYY-MM-DD" (midnight UTC) or
  // "YYYY-MM-DDTHH:MM:SS[.f{1,6}](Z|+HH:MM|-HH:MM)".
  kStrict,
  // What a person types on a command line, besides the strict forms: a space for the 'T',
  // minutes without seconds ("2024-05-01T12:00"), no zone (UTC), and "+HHMM" offsets.
  kLenient,
};

// Parses `text` into *micros. InvalidArgument naming the problem and quoting the text
// ("invalid timestamp '2024-13-01': month out of range 01..12"); *micros is untouched then.
Status ParseTimestamp(std::string_view text, int64_t* micros,
                      TimeForms forms = TimeForms::kStrict);

}  // namespace cotenant

#endif  // COTENANT_COMMON_TIME_H_
