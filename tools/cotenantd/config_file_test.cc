// cotenantd's --config file: unit tests on an app declaring the kinds of options cotenantd
// declares, then the real cotenantd started with a file.

#include "config_file.h"

#include <sys/stat.h>
#include <unistd.h>

#include <csignal>
#include <cstdint>
#include <fstream>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/test_support.h"

namespace cotenant::daemon {
namespace {

using ::testing::HasSubstr;

// Options of every kind cotenantd declares, with its validators, plus a list option.
struct Settings {
  std::string data = "./cotenant-data";
  std::string listen = "127.0.0.1:7770";
  std::string durability = "group";
  int rpc_threads = 4;
  size_t block_cache_mb = 256;
  int64_t lockout_ms = 1000;
  double ratio = 0.5;
  bool allow_shared = false;
  std::vector<std::string> peers;
};

class ConfigFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    app_.add_option("--data", s_.data, "data directory")->capture_default_str();
    app_.add_option("--listen", s_.listen, "HOST:PORT")
        ->check(CLI::Validator(
            [](std::string& v) -> std::string {
              return v.find(':') == std::string::npos ? "not HOST:PORT" : "";
            },
            "HOST:PORT"));
    app_.add_option("--durability", s_.durability, "sync or group")
        ->check(CLI::IsMember({"sync", "group"}));
    app_.add_option("--rpc-threads", s_.rpc_threads, "loops")->check(CLI::Range(1, 256));
    app_.add_option("--block-cache-mb", s_.block_cache_mb, "MiB")
        ->check(CLI::Range(size_t{1}, size_t{1} << 20));
    app_.add_option("--login-lockout-ms", s_.lockout_ms, "ms");
    app_.add_option("--ratio", s_.ratio, "a float");
    app_.add_flag("--allow-shared-data-dir", s_.allow_shared, "a flag");
    app_.add_option("--peer", s_.peers, "several values");
    AddConfigFileOption(app_);
  }

  // Writes `text` to a file in the temporary directory and returns its path.
  std::string File(const std::string& text, const std::string& name = "cotenantd.toml") {
    const std::string path = dir_.path() + "/" + name;
    std::ofstream(path) << text;
    return path;
  }

  // Parses `args` (after the program name); the ParseError's message, or "" when parsed.
  std::string Parse(std::vector<std::string> args) {
    std::vector<const char*> argv{"cotenantd"};
    for (const auto& a : args) argv.push_back(a.c_str());
    try {
      app_.parse(static_cast<int>(argv.size()), const_cast<char**>(argv.data()));
    } catch (const CLI::ParseError& e) {
      return std::string(e.what()).empty() ? "(empty error)" : e.what();
    }
    return "";
  }

  cotenant::testing::TempDir dir_;
  CLI::App app_{"test"};
  Settings s_;
};

TEST_F(ConfigFileTest, FileSetsEveryKindOfOption) {
  const std::string path = File(R"(# cotenantd settings
data = "/var/lib/cotenant"
listen = "127.0.0.1:7999"
durability = "sync"
rpc-threads = 3
block-cache-mb = 64
login-lockout-ms = -5
ratio = 2
allow-shared-data-dir = true
peer = ["a:1", "b:2"]
)");
  ASSERT_EQ(Parse({"--config", path}), "");
  EXPECT_EQ(s_.data, "/var/lib/cotenant");
  EXPECT_EQ(s_.listen, "127.0.0.1:7999");
  EXPECT_EQ(s_.durability, "sync");
  EXPECT_EQ(s_.rpc_threads, 3);
  EXPECT_EQ(s_.block_cache_mb, 64u);
  EXPECT_EQ(s_.lockout_ms, -5);
  EXPECT_DOUBLE_EQ(s_.ratio, 2.0);
  EXPECT_TRUE(s_.allow_shared);
  EXPECT_EQ(s_.peers, (std::vector<std::string>{"a:1", "b:2"}));
}

TEST_F(ConfigFileTest, WithoutConfigTheDefaultsStay) {
  ASSERT_EQ(Parse({}), "");
  EXPECT_EQ(s_.listen, "127.0.0.1:7770");
  EXPECT_EQ(s_.rpc_threads, 4);
}

TEST_F(ConfigFileTest, FlagsOnTheCommandLineWin) {
  const std::string path = File("listen = \"127.0.0.1:1111\"\nrpc-threads = 2\ndata = \"/x\"\n");
  ASSERT_EQ(Parse({"--listen", "127.0.0.1:2222", "--config", path, "--rpc-threads=7"}), "");
  EXPECT_EQ(s_.listen, "127.0.0.1:2222");
  EXPECT_EQ(s_.rpc_threads, 7);
  EXPECT_EQ(s_.data, "/x");  // not on the command line: the file's
}

TEST_F(ConfigFileTest, AFalseFlagStaysOff) {
  ASSERT_EQ(Parse({"--config", File("allow-shared-data-dir = false\n")}), "");
  EXPECT_FALSE(s_.allow_shared);
}

TEST_F(ConfigFileTest, UnknownKeyNamesKeyAndLine) {
  const std::string path = File("listen = \"127.0.0.1:1\"\n\nno-such-setting = 1\n");
  const std::string error = Parse({"--config", path});
  EXPECT_THAT(error, HasSubstr(path + ":3: unknown key no-such-setting"));
}

TEST_F(ConfigFileTest, UnderscoreKeySuggestsTheFlagName) {
  const std::string error = Parse({"--config", File("rpc_threads = 2\n")});
  EXPECT_THAT(error, HasSubstr(":1: unknown key rpc_threads (did you mean rpc-threads?)"));
}

TEST_F(ConfigFileTest, WrongTypeNamesKeyLineAndTypes) {
  const std::string path = File("data = \"/d\"\nrpc-threads = \"4\"\n");
  EXPECT_THAT(Parse({"--config", path}),
              HasSubstr(path + ":2: rpc-threads: expected an integer, found a string"));
}

TEST_F(ConfigFileTest, NumberForTextIsAWrongType) {
  EXPECT_THAT(Parse({"--config", File("listen = 7770\n")}),
              HasSubstr(":1: listen: expected a string, found an integer"));
}

TEST_F(ConfigFileTest, StringForFlagIsAWrongType) {
  EXPECT_THAT(Parse({"--config", File("allow-shared-data-dir = \"yes\"\n")}),
              HasSubstr(":1: allow-shared-data-dir: expected a boolean (true or false), found a string"));
}

TEST_F(ConfigFileTest, NegativeForUnsignedIsRefused) {
  EXPECT_THAT(Parse({"--config", File("block-cache-mb = -1\n")}),
              HasSubstr(":1: block-cache-mb: must not be negative (-1)"));
}

TEST_F(ConfigFileTest, ArrayForOneValueIsRefused) {
  EXPECT_THAT(Parse({"--config", File("\n\nlisten = [\"a:1\"]\n")}),
              HasSubstr(":3: listen: expected a string, found an array"));
}

TEST_F(ConfigFileTest, OutOfRangeValueNamesKeyAndLine) {
  EXPECT_THAT(Parse({"--config", File("data = \"/d\"\nrpc-threads = 0\n")}),
              HasSubstr(":2: rpc-threads: "));
  EXPECT_THAT(Parse({"--config", File("durability = \"sometimes\"\n")}),
              HasSubstr(":1: durability: "));
}

TEST_F(ConfigFileTest, MalformedFileNamesTheLine) {
  const std::string path = File("listen = \"127.0.0.1:1\"\nrpc-threads = = 4\n");
  const std::string error = Parse({"--config", path});
  EXPECT_THAT(error, HasSubstr(path + ":2:"));
  EXPECT_THAT(error, HasSubstr("not valid TOML"));
}

TEST_F(ConfigFileTest, DuplicateKeyIsMalformed) {
  EXPECT_THAT(Parse({"--config", File("rpc-threads = 1\nrpc-threads = 2\n")}), HasSubstr(":2:"));
}

TEST_F(ConfigFileTest, SectionsAreRefused) {
  EXPECT_THAT(Parse({"--config", File("[server]\nlisten = \"127.0.0.1:1\"\n")}),
              HasSubstr("server: a table"));
  EXPECT_THAT(Parse({"--config", File("tls.cert = \"x\"\n")}), HasSubstr("tls: a table"));
}

TEST_F(ConfigFileTest, ConfigAndHelpCannotBeSet) {
  EXPECT_THAT(Parse({"--config", File("config = \"/etc/other.toml\"\n")}),
              HasSubstr(":1: config: cannot be set in the configuration file"));
  EXPECT_THAT(Parse({"--config", File("help = true\n")}),
              HasSubstr(":1: help: cannot be set in the configuration file"));
}

TEST_F(ConfigFileTest, MissingFileIsAnError) {
  const std::string path = dir_.path() + "/absent.toml";
  EXPECT_THAT(Parse({"--config", path}), HasSubstr("cannot read " + path));
}

TEST_F(ConfigFileTest, DirectoryIsAnError) {
  EXPECT_THAT(Parse({"--config", dir_.path()}), HasSubstr("it is a directory"));
}

TEST_F(ConfigFileTest, UnreadableFileIsAnError) {
  if (::geteuid() == 0) GTEST_SKIP() << "root reads every file";
  const std::string path = File("listen = \"127.0.0.1:1\"\n");
  ASSERT_EQ(::chmod(path.c_str(), 0), 0);
  EXPECT_THAT(Parse({"--config", path}), HasSubstr("Permission denied"));
}

TEST_F(ConfigFileTest, EmptyFileSetsNothing) {
  ASSERT_EQ(Parse({"--config", File("# nothing\n")}), "");
  EXPECT_EQ(s_.listen, "127.0.0.1:7770");
}

TEST_F(ConfigFileTest, ItemsFromTomlNamesTheSource) {
  try {
    ConfigItemsFromToml(app_, "x = 1\n", "somewhere.toml");
    FAIL() << "no error";
  } catch (const CLI::ConfigError& e) {
    EXPECT_THAT(std::string(e.what()), HasSubstr("somewhere.toml:1: unknown key x"));
  }
}

// ---- the real server --------------------------------------------------------------------

class ConfigFileServerTest : public ::testing::Test {
 protected:
  std::string Write(const std::string& text) {
    const std::string path = dir_.path() + "/cotenantd.toml";
    std::ofstream(path) << text;
    return path;
  }
  // A small server: one loop, one worker, a small cache.
  std::string Settings(int port) {
    return "listen = \"127.0.0.1:" + std::to_string(port) + "\"\ndata = \"" + dir_.path() +
           "/data\"\nrpc-threads = 1\nthreads = 1\nblock-cache-mb = 8\nmemtable-mb = 4\n"
           "log-level = \"warn\"\n";
  }

  cotenant::testing::TempDir dir_;
};

TEST_F(ConfigFileServerTest, ListensWhereTheFileSays) {
  const int port = cotenant::testing::FreePort();
  const std::string config = Write(Settings(port));
  cotenant::testing::Process server;
  ASSERT_TRUE(server.Start({cotenant::testing::BinaryPath("cotenantd"), "--config", config},
                           dir_.path() + "/server.log"));
  EXPECT_TRUE(cotenant::testing::WaitForPort(port, std::chrono::seconds(30)))
      << cotenant::testing::ReadFile(dir_.path() + "/server.log");
  const int status = server.Stop(SIGTERM);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
}

TEST_F(ConfigFileServerTest, ListenFlagWinsOverTheFile) {
  const int file_port = cotenant::testing::FreePort();
  const int flag_port = cotenant::testing::FreePort();
  const std::string config = Write(Settings(file_port));
  cotenant::testing::Process server;
  ASSERT_TRUE(server.Start({cotenant::testing::BinaryPath("cotenantd"), "--config", config,
                            "--listen", "127.0.0.1:" + std::to_string(flag_port)},
                           dir_.path() + "/server.log"));
  EXPECT_TRUE(cotenant::testing::WaitForPort(flag_port, std::chrono::seconds(30)))
      << cotenant::testing::ReadFile(dir_.path() + "/server.log");
  EXPECT_FALSE(cotenant::testing::WaitForPort(file_port, std::chrono::milliseconds(200)));
  server.Stop(SIGTERM);
}

TEST_F(ConfigFileServerTest, ServesTheHttpApiWhereTheFileSays) {
  const int port = cotenant::testing::FreePort();
  const int api_port = cotenant::testing::FreePort();
  const std::string config = Write(Settings(port) + "api = \"127.0.0.1:" + std::to_string(api_port) +
                                   "\"\napi-timeout-ms = 2000\n");
  cotenant::testing::Process server;
  ASSERT_TRUE(server.Start({cotenant::testing::BinaryPath("cotenantd"), "--config", config},
                           dir_.path() + "/server.log"));
  ASSERT_TRUE(cotenant::testing::WaitForPort(port, std::chrono::seconds(30)))
      << cotenant::testing::ReadFile(dir_.path() + "/server.log");
  // The API answers (here: a request without credentials, refused as such).
  const std::string reply = cotenant::testing::HttpGet(api_port, "/v1/whoami");
  EXPECT_THAT(reply, HasSubstr("401"));
  EXPECT_THAT(reply, HasSubstr("\"code\":\"Unauthenticated\""));
  server.Stop(SIGTERM);
}

TEST_F(ConfigFileServerTest, BadFileExitsTwoBeforeStarting) {
  const std::string config = Write("listen = \"127.0.0.1:1\"\nthreads = \"many\"\n");
  auto r = cotenant::testing::RunTool(cotenant::testing::BinaryPath("cotenantd"),
                                      {"--config", config, "--data", dir_.path() + "/data"},
                                      {}, dir_.path());
  EXPECT_EQ(r.code, 2) << r;
  EXPECT_THAT(r.err, HasSubstr(config + ":2: threads: expected an integer, found a string"));
  struct stat st {};
  EXPECT_NE(::stat((dir_.path() + "/data").c_str(), &st), 0) << "the data directory was made";
}

}  // namespace
}  // namespace cotenant::daemon
