#include "sharing/identity.h"

#include <sys/stat.h>

#include <memory>
#include <string>

#include <gtest/gtest.h>

#include "storage/storage.h"
#include "tests/test_support.h"

namespace cotenant::sharing {
namespace {

class IdentityTest : public ::testing::Test {
 protected:
  void SetUp() override { Reopen(); }

  void Reopen() {
    identity_.reset();
    store_.reset();
    storage::StoreOptions options;
    options.path = dir_.path() + "/db";
    options.storage = cotenant::testing::TestStorageUri(options.path);
    options.storage_connections = 4;
    ASSERT_TRUE(storage::Store::Open(options, &store_).ok());
    identity_ = std::make_unique<Identity>(store_.get());
  }

  storage::TenantId NewTenant(const std::string& name) {
    storage::TenantInfo info;
    Status s = store_->CreateTenant(name, storage::TenantKind::kTenant, 0, &info);
    EXPECT_TRUE(s.ok()) << s.ToString();
    return info.id;
  }

  cotenant::testing::TempDir dir_;
  std::unique_ptr<storage::Store> store_;
  std::unique_ptr<Identity> identity_;
};

TEST_F(IdentityTest, CreateAndAuthenticate) {
  auto t = NewTenant("acme");
  User u;
  std::string key;
  ASSERT_TRUE(identity_->CreateUser(t, "alice", AdminLevel::kTenantAdmin, &u, &key).ok());
  EXPECT_GT(u.id, 0u);
  EXPECT_EQ(u.tenant, t);
  EXPECT_EQ(u.name, "alice");
  EXPECT_EQ(key.rfind("ck_", 0), 0u);

  User got;
  Credential cred;
  Status s = identity_->Authenticate(t, key, &got, &cred);
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(got.id, u.id);
  EXPECT_EQ(got.level, AdminLevel::kTenantAdmin);
  EXPECT_TRUE(identity_->Check(cred).ok());

  // A fresh Identity (cold cache) authenticates from the store.
  Reopen();
  s = identity_->Authenticate(t, key, &got, &cred);
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(got.id, u.id);
  EXPECT_EQ(got.name, "alice");
  EXPECT_TRUE(identity_->Check(cred).ok());
}

TEST_F(IdentityTest, BadKeysAllAnswerTheSame) {
  auto t = NewTenant("acme");
  auto other = NewTenant("globex");
  User u, v;
  std::string key, other_key;
  ASSERT_TRUE(identity_->CreateUser(t, "alice", AdminLevel::kUser, &u, &key).ok());
  ASSERT_TRUE(identity_->CreateUser(other, "bob", AdminLevel::kUser, &v, &other_key).ok());

  std::string flipped = key;
  flipped.back() = flipped.back() == 'A' ? 'B' : 'A';
  std::string unknown_id = key;
  unknown_id[3] = unknown_id[3] == 'f' ? 'e' : 'f';
  const std::string bad_keys[] = {
      "", "ck_", "garbage", flipped, unknown_id, key.substr(0, key.size() - 1),
      key + "A", "ck_zzzzzzzzzzzzzzzz_" + key.substr(20), other_key,
  };
  for (const auto& bad : bad_keys) {
    User got;
    Status s = identity_->Authenticate(t, bad, &got);
    EXPECT_EQ(s.code(), Status::Code::kUnauthenticated) << bad;
    EXPECT_EQ(s.message(), kBadCredentials) << bad;
  }
  // Right key, wrong tenant (another live one, an unknown one, the global one).
  for (storage::TenantId wrong : {other, storage::TenantId{999999}, storage::TenantId{0}}) {
    User got;
    Status s = identity_->Authenticate(wrong, key, &got);
    EXPECT_EQ(s.code(), Status::Code::kUnauthenticated);
    EXPECT_EQ(s.message(), kBadCredentials);
  }
}

TEST_F(IdentityTest, NamesAreCheckedAndUnique) {
  auto t = NewTenant("acme");
  User u;
  std::string key;
  ASSERT_TRUE(identity_->CreateUser(t, "alice", AdminLevel::kUser, &u, &key).ok());
  EXPECT_EQ(identity_->CreateUser(t, "alice", AdminLevel::kUser, &u, &key).code(),
            Status::Code::kConflict);
  EXPECT_EQ(identity_->CreateUser(t, "", AdminLevel::kUser, &u, &key).code(),
            Status::Code::kInvalidArgument);
  EXPECT_EQ(identity_->CreateUser(t, "a b", AdminLevel::kUser, &u, &key).code(),
            Status::Code::kInvalidArgument);
  EXPECT_EQ(identity_->CreateUser(t, std::string(65, 'a'), AdminLevel::kUser, &u, &key).code(),
            Status::Code::kInvalidArgument);
  EXPECT_EQ(identity_->CreateUser(999999, "carol", AdminLevel::kUser, &u, &key).code(),
            Status::Code::kNotFound);
  // The same name in another tenant is fine.
  auto other = NewTenant("globex");
  EXPECT_TRUE(identity_->CreateUser(other, "alice", AdminLevel::kUser, &u, &key).ok());
}

TEST_F(IdentityTest, ListAndGetUsers) {
  auto t = NewTenant("acme");
  User a, b;
  std::string key;
  ASSERT_TRUE(identity_->CreateUser(t, "alice", AdminLevel::kUser, &a, &key).ok());
  ASSERT_TRUE(identity_->CreateUser(t, "bob", AdminLevel::kTenantAdmin, &b, &key).ok());
  std::vector<User> users;
  ASSERT_TRUE(identity_->ListUsers(t, &users).ok());
  ASSERT_EQ(users.size(), 2u);
  EXPECT_EQ(users[0].name, "alice");
  EXPECT_EQ(users[1].name, "bob");
  User got;
  ASSERT_TRUE(identity_->GetUser(t, b.id, &got).ok());
  EXPECT_EQ(got.level, AdminLevel::kTenantAdmin);
  ASSERT_TRUE(identity_->FindUser(b.id, &got).ok());
  EXPECT_EQ(got.tenant, t);
  EXPECT_EQ(identity_->GetUser(t + 1000, b.id, &got).code(), Status::Code::kNotFound);
}

TEST_F(IdentityTest, OnlyTheHashIsStored) {
  auto t = NewTenant("acme");
  User u;
  std::string key;
  ASSERT_TRUE(identity_->CreateUser(t, "alice", AdminLevel::kUser, &u, &key).ok());
  std::string secret = key.substr(3 + 16 + 1);  // "ck_" + 16 hex + "_"
  ASSERT_EQ(secret.size(), 43u);
  size_t scanned = 0;
  for (storage::TenantId tenant : {storage::kGlobalTenant, t}) {
    ASSERT_TRUE(store_->MetaScan(tenant, "", [&](std::string_view k, std::string_view v) {
      ++scanned;
      EXPECT_EQ(k.find(secret), std::string_view::npos);
      EXPECT_EQ(v.find(secret), std::string_view::npos);
      EXPECT_EQ(v.find(key), std::string_view::npos);
      return true;
    }).ok());
  }
  EXPECT_GE(scanned, 4u);
}

TEST_F(IdentityTest, DeletedTenantRevokesSessionsAndLogin) {
  auto t = NewTenant("acme");
  User u;
  std::string key;
  ASSERT_TRUE(identity_->CreateUser(t, "alice", AdminLevel::kUser, &u, &key).ok());
  Credential cred;
  ASSERT_TRUE(identity_->Authenticate(t, key, &u, &cred).ok());
  ASSERT_TRUE(store_->DeleteTenant(t).ok());
  EXPECT_EQ(identity_->Check(cred).code(), Status::Code::kUnauthenticated);
  User got;
  Status s = identity_->Authenticate(t, key, &got);
  EXPECT_EQ(s.code(), Status::Code::kUnauthenticated);
  EXPECT_EQ(s.message(), kBadCredentials);
  identity_->ForgetTenant(t);
  EXPECT_EQ(identity_->Check(cred).code(), Status::Code::kUnauthenticated);
}

TEST_F(IdentityTest, BootstrapWritesAPrivateKeyOnce) {
  std::string path;
  Status s = Bootstrap(store_.get(), identity_.get(), dir_.path(), &path);
  ASSERT_TRUE(s.ok()) << s.ToString();
  ASSERT_EQ(path, dir_.path() + "/admin.key");
  struct stat st;
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  std::string content = cotenant::testing::ReadFile(path);
  ASSERT_FALSE(content.empty());
  ASSERT_EQ(content.back(), '\n');
  std::string key = content.substr(0, content.size() - 1);

  auto tenants = store_->ListTenants();
  ASSERT_EQ(tenants.size(), 1u);
  EXPECT_EQ(tenants[0].name, "system");
  EXPECT_EQ(tenants[0].kind, storage::TenantKind::kSystem);
  User admin;
  ASSERT_TRUE(identity_->Authenticate(tenants[0].id, key, &admin).ok());
  EXPECT_EQ(admin.name, "admin");
  EXPECT_EQ(admin.level, AdminLevel::kSystemAdmin);

  // A restart neither creates another admin nor touches the file.
  Reopen();
  std::string again;
  ASSERT_TRUE(Bootstrap(store_.get(), identity_.get(), dir_.path(), &again).ok());
  EXPECT_TRUE(again.empty());
  EXPECT_EQ(cotenant::testing::ReadFile(path), content);
  EXPECT_EQ(store_->ListTenants().size(), 1u);
  std::vector<User> users;
  ASSERT_TRUE(identity_->ListUsers(tenants[0].id, &users).ok());
  EXPECT_EQ(users.size(), 1u);
  ASSERT_TRUE(identity_->Authenticate(tenants[0].id, key, &admin).ok());
}

}  // namespace
}  // namespace cotenant::sharing
