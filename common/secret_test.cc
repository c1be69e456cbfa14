#include "common/secret.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "tests/test_support.h"

namespace cotenant {
namespace {

void WriteRaw(const std::string& path, const std::string& bytes, mode_t mode) {
  { std::ofstream(path, std::ios::binary) << bytes; }
  ASSERT_EQ(::chmod(path.c_str(), mode), 0);
}

TEST(SecretTest, CreatedOnFirstUseWithOwnerOnlyModeThenReadBack) {
  testing::TempDir dir;
  const std::string path = dir.path() + "/cache.secret";
  ::umask(0);  // the file must still come out 0600
  std::string first;
  ASSERT_TRUE(LoadOrCreateSecretFile(path, &first).ok());
  ::umask(022);
  EXPECT_EQ(first.size(), kSecretBytes);
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0600u);
  EXPECT_EQ(st.st_size, static_cast<off_t>(kSecretBytes));
  std::string again;
  ASSERT_TRUE(LoadOrCreateSecretFile(path, &again).ok());
  EXPECT_EQ(again, first);
  // No temporary file is left next to it.
  size_t entries = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir.path())) {
    (void)e;
    ++entries;
  }
  EXPECT_EQ(entries, 1u);
  // Two installations get different secrets.
  std::string other;
  ASSERT_TRUE(LoadOrCreateSecretFile(dir.path() + "/other.secret", &other).ok());
  EXPECT_NE(other, first);
}

TEST(SecretTest, RefusesAFileOthersMayReadOrOfTheWrongSize) {
  testing::TempDir dir;
  const std::string path = dir.path() + "/s";
  std::string secret;
  WriteRaw(path, std::string(kSecretBytes, 'k'), 0644);
  Status s = LoadOrCreateSecretFile(path, &secret);
  EXPECT_TRUE(s.IsInvalidArgument()) << s.ToString();
  EXPECT_NE(s.message().find("mode 0644"), std::string::npos) << s.message();
  EXPECT_TRUE(secret.empty());
  WriteRaw(path, std::string(kSecretBytes, 'k'), 0640);
  EXPECT_TRUE(ReadSecretFile(path, &secret).IsInvalidArgument());
  WriteRaw(path, std::string(kSecretBytes, 'k'), 0604);
  EXPECT_TRUE(ReadSecretFile(path, &secret).IsInvalidArgument());

  WriteRaw(path, std::string(kSecretBytes - 1, 'k'), 0600);
  s = LoadOrCreateSecretFile(path, &secret);
  EXPECT_TRUE(s.IsInvalidArgument()) << s.ToString();
  EXPECT_NE(s.message().find("exactly 32"), std::string::npos) << s.message();
  WriteRaw(path, std::string(kSecretBytes + 1, 'k'), 0600);
  EXPECT_TRUE(ReadSecretFile(path, &secret).IsInvalidArgument());
  WriteRaw(path, "", 0600);
  EXPECT_TRUE(LoadOrCreateSecretFile(path, &secret).IsInvalidArgument());  // not replaced

  EXPECT_TRUE(ReadSecretFile(dir.path(), &secret).IsInvalidArgument());  // a directory
  EXPECT_TRUE(ReadSecretFile(dir.path() + "/missing", &secret).IsNotFound());

  WriteRaw(path, std::string(kSecretBytes, 'k'), 0400);
  ASSERT_TRUE(ReadSecretFile(path, &secret).ok());
  EXPECT_EQ(secret, std::string(kSecretBytes, 'k'));
}

TEST(SecretTest, CreateOwnerOnlyFileNeverReplacesAFile) {
  testing::TempDir dir;
  const std::string path = dir.path() + "/f";
  ASSERT_TRUE(CreateOwnerOnlyFile(path, "one").ok());
  Status s = CreateOwnerOnlyFile(path, "two");
  EXPECT_TRUE(s.IsConflict()) << s.ToString();
  EXPECT_EQ(testing::ReadFile(path), "one");
  EXPECT_FALSE(CreateOwnerOnlyFile(dir.path() + "/no/such/dir/f", "x").ok());
}

}  // namespace
}  // namespace cotenant
