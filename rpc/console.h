// The admin console's files (docs/CONSOLE.md), served under /console/ by the HTTP/JSON
// API. Internal to rpc/.
//
// The files are compiled into cotenantd from console/ (cmake/embed_console.cmake); with
// --console-dir they are read from that directory at each request instead, so a changed
// file shows at the browser's next reload.

#ifndef COTENANT_RPC_CONSOLE_H_
#define COTENANT_RPC_CONSOLE_H_

#include <string>
#include <string_view>

#include "common/status.h"

namespace cotenant::rpc {

struct ConsoleFile {
  std::string body;
  std::string content_type;
};

class ConsoleFiles {
 public:
  // `dir` empty: the files built into the server.
  explicit ConsoleFiles(std::string dir = "") : dir_(std::move(dir)) {}

  // Checks a --console-dir: a readable directory holding index.html.
  static Status CheckDir(const std::string& dir);

  // The file `name` of the console ("" = index.html): NotFound when there is none,
  // InvalidArgument for a name that is not a plain file name ([A-Za-z0-9._-], not
  // starting with '.', at most 128 bytes).
  Status Get(std::string_view name, ConsoleFile* out) const;

 private:
  std::string dir_;
};

}  // namespace cotenant::rpc

#endif  // COTENANT_RPC_CONSOLE_H_
