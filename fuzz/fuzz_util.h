// Helpers shared by the fuzz targets: a property check that aborts (so libFuzzer keeps
// the input as a crash), and a scratch directory removed at exit.

#ifndef COTENANT_FUZZ_FUZZ_UTIL_H_
#define COTENANT_FUZZ_FUZZ_UTIL_H_

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>

#include "common/status.h"

// A property the code under test must keep; a violation is a finding, not an input error.
#define FUZZ_CHECK(cond, what)                                                   \
  do {                                                                           \
    if (!(cond)) {                                                               \
      std::fprintf(stderr, "FUZZ_CHECK failed at %s:%d: %s: %s\n", __FILE__,     \
                   __LINE__, #cond, std::string(what).c_str());                  \
      std::abort();                                                              \
    }                                                                            \
  } while (0)

namespace cotenant::fuzz {

// A fresh directory under $TMPDIR (or /tmp), removed when the process exits normally.
inline std::string ScratchDir(const char* name) {
  const char* base = std::getenv("TMPDIR");
  std::string tmpl = std::string(base && *base ? base : "/tmp") + "/cotenant-" + name + "-XXXXXX";
  if (mkdtemp(tmpl.data()) == nullptr) {
    std::perror("mkdtemp");
    std::abort();
  }
  // The latest directory is removed at exit (a target that makes several removes the
  // earlier ones itself).
  static std::string* latest = [] {
    std::atexit([] {
      std::error_code ec;
      std::filesystem::remove_all(*latest, ec);
    });
    return new std::string;
  }();
  *latest = tmpl;
  return tmpl;
}

inline void CheckOk(const Status& s, const char* what) {
  FUZZ_CHECK(s.ok(), std::string(what) + ": " + s.ToString());
}

}  // namespace cotenant::fuzz

#endif  // COTENANT_FUZZ_FUZZ_UTIL_H_
