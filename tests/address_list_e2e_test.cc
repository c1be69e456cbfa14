// Several server addresses in one: the SDK and the CLI take "a:7770,b:7770" and log in to
// the first that answers, skipping those that cannot be reached; an entry that is not an
// address is refused before anything is sent.

#include <gtest/gtest.h>

#include <string>

#include "tests/e2e_util.h"

namespace cotenant::testing {
namespace {

// A loopback address where nothing listens.
std::string DeadAddress() { return "127.0.0.1:" + std::to_string(FreePort()); }

class AddressListTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(server_.ok()) << server_.log();
    admin_ = AdminClient(server_);
    tenant_ = MakeTenant(server_, *admin_, "lists");
    ASSERT_TRUE(tenant_.client);
    Result r = tenant_.client->addRecord("Customers", Parameters().add("first_name", "Ann"));
    ASSERT_TRUE(r.ok()) << r.getMessage();
    id_ = r.getId();
  }

  Cotenantd server_;
  std::unique_ptr<Client> admin_;
  TenantHandle tenant_;
  uint64_t id_ = 0;
};

TEST_F(AddressListTest, TheFirstAddressThatAnswersServesTheClient) {
  auto client = Client::connect(DeadAddress() + ", " + DeadAddress() + "," + server_.address(),
                                tenant_.id, tenant_.key);
  Result r = client->getRecord("Customers", "first_name", id_);
  ASSERT_TRUE(r.ok()) << r.getMessage();
  ASSERT_EQ(r.getRecords().size(), 1u);
  EXPECT_EQ(r.getRecords()[0].get("first_name").asText(), "Ann");
  EXPECT_EQ(client->user().id, tenant_.user);
}

TEST_F(AddressListTest, WhenNoneAnswersTheErrorNamesEveryAddressTried) {
  const std::string a = DeadAddress(), b = DeadAddress();
  try {
    Client::connect(a + "," + b, tenant_.id, tenant_.key);
    FAIL() << "connected to nothing";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::Unavailable) << e.what();
    EXPECT_NE(std::string(e.what()).find(a), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find(b), std::string::npos) << e.what();
  }
}

TEST_F(AddressListTest, AMalformedEntryIsRefusedNamingItBeforeAnythingIsSent) {
  for (const std::string& list : {server_.address() + ",not-an-address",
                                  server_.address() + ",,"}) {
    try {
      Client::connect(list, tenant_.id, tenant_.key);
      FAIL() << "accepted " << list;
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ErrorCode::InvalidArgument) << list << ": " << e.what();
    }
  }
}

TEST_F(AddressListTest, ARefusedLoginIsTheServersAnswerNotSkipped) {
  try {
    Client::connect(server_.address() + "," + DeadAddress(), tenant_.id, "wrong-key");
    FAIL() << "logged in with a wrong key";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::Unauthenticated) << e.what();
  }
}

TEST_F(AddressListTest, TheCliTakesAListInAddrAndInCotenantAddr) {
  const std::string list = DeadAddress() + "," + server_.address();
  auto env = ToolEnv(server_, tenant_.id, tenant_.key);
  env["COTENANT_ADDR"] = list;
  ToolResult r = RunTool(CliPath(), {"record", "get", "Customers", std::to_string(id_)}, env, "/");
  EXPECT_EQ(r.code, 0) << r;
  EXPECT_NE(r.out.find("Ann"), std::string::npos) << r;

  env.erase("COTENANT_ADDR");
  r = RunTool(CliPath(), {"--addr", list, "record", "get", "Customers", std::to_string(id_)}, env, "/");
  EXPECT_EQ(r.code, 0) << r;
  EXPECT_NE(r.out.find("Ann"), std::string::npos) << r;

  r = RunTool(CliPath(), {"--addr", DeadAddress() + "," + DeadAddress(), "object", "list"}, env, "/");
  EXPECT_NE(r.code, 0) << r;
  EXPECT_NE(r.err.find("no server answered"), std::string::npos) << r;
}

}  // namespace
}  // namespace cotenant::testing
