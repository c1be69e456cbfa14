// SDK tests of the parts that need no server: the value types, argument checks, error
// mapping and enum names, and connect's answer when nothing listens.

#include <gtest/gtest.h>

#include "cotenant/client.h"
#include "internal.h"

namespace cotenant {
namespace {

TEST(Parameters, KeepsOrderAndReplacesDuplicates) {
  Parameters p;
  p.add("first_name", "John").add("age", 31).add("score", 2.5).add("vip", true);
  p.addTimestamp("seen", 1000000).addNull("last_name").add("first_name", std::string("Jane"));
  ASSERT_EQ(p.size(), 6u);
  EXPECT_EQ(p.fields()[0].first, "first_name");
  EXPECT_EQ(p.fields()[0].second, Value::text("Jane"));
  EXPECT_EQ(p.fields()[1].second, Value::integer(31));
  EXPECT_EQ(p.fields()[2].second, Value::floating(2.5));
  EXPECT_EQ(p.fields()[3].second, Value::boolean(true));
  EXPECT_EQ(p.fields()[4].second, Value::timestamp(1000000));
  EXPECT_TRUE(p.fields()[5].second.isNull());
  ASSERT_NE(p.find("age"), nullptr);
  EXPECT_EQ(p.find("nope"), nullptr);
}

TEST(Parameters, IntegerTypesBecomeInt64) {
  Parameters p;
  p.add("a", 7L).add("b", 7LL).add("c", 7u).add("d", int64_t{-9}).add("e", short{3});
  for (const auto& f : p.fields()) EXPECT_EQ(f.second.type(), Value::Type::Int) << f.first;
  EXPECT_EQ(p.find("d")->asInt(), -9);
}

TEST(Parameters, RetrieveRecordPermissions) {
  Parameters p;
  EXPECT_FALSE(p.retrievesRecordPermissions());
  p.retrieveRecordPermissions(true);
  EXPECT_TRUE(p.retrievesRecordPermissions());
  EXPECT_TRUE(p.empty());
}

TEST(RecordId, AcceptsDecimalStringsAndNumbers) {
  EXPECT_TRUE(RecordId("7771212345").valid());
  EXPECT_EQ(RecordId("7771212345").value(), 7771212345u);
  EXPECT_EQ(RecordId(std::string("18446744073709551615")).value(), UINT64_MAX);
  EXPECT_TRUE(RecordId(42).valid());
  EXPECT_EQ(RecordId(uint64_t{42}).value(), 42u);
}

TEST(RecordId, RejectsEverythingElse) {
  for (const char* bad : {"", "abc", "12a", " 12", "12 ", "+12", "-12", "0", "1.5",
                          "18446744073709551616", "0x10"}) {
    EXPECT_FALSE(RecordId(bad).valid()) << bad;
    EXPECT_EQ(RecordId(bad).text(), bad);
  }
  EXPECT_FALSE(RecordId(0).valid());
  EXPECT_FALSE(RecordId(-3).valid());
  EXPECT_EQ(RecordId(-3).text(), "-3");
}

TEST(ErrorMapping, TaggedRemoteException) {
  auto e = internal::classifyFailure(internal::ExceptionKind::Failed,
                                     "remote exception: cotenant:NotFound: record 7 not found");
  EXPECT_EQ(e.code, ErrorCode::NotFound);
  EXPECT_EQ(e.message, "record 7 not found");
}

TEST(ErrorMapping, EveryWireCode) {
  const std::pair<const char*, ErrorCode> cases[] = {
      {"NotFound", ErrorCode::NotFound},
      {"PermissionDenied", ErrorCode::PermissionDenied},
      {"InvalidArgument", ErrorCode::InvalidArgument},
      {"Conflict", ErrorCode::Conflict},
      {"ResourceExhausted", ErrorCode::ResourceExhausted},
      {"Unauthenticated", ErrorCode::Unauthenticated},
      {"Internal", ErrorCode::Internal},
  };
  for (const auto& [name, code] : cases) {
    auto e = internal::classifyFailure(internal::ExceptionKind::Failed,
                                       std::string("cotenant:") + name + ": why: because");
    EXPECT_EQ(e.code, code) << name;
    EXPECT_EQ(e.message, "why: because") << name;
  }
}

// Only a failure of this side's transport says the connection was lost (the client then
// logs in again); whatever the server answered, even DISCONNECTED, does not.
TEST(ErrorMapping, ConnectionLostIsALocalTransportFailure) {
  using internal::ExceptionKind;
  EXPECT_TRUE(internal::classifyFailure(ExceptionKind::Disconnected, "Peer disconnected.")
                  .connectionLost);
  EXPECT_TRUE(internal::classifyFailure(ExceptionKind::Failed,
                                        "read(fd): Connection reset by peer")
                  .connectionLost);
  EXPECT_FALSE(internal::classifyFailure(ExceptionKind::Disconnected,
                                         "remote exception: Peer disconnected.")
                   .connectionLost);
  EXPECT_FALSE(internal::classifyFailure(ExceptionKind::Failed,
                                         "remote exception: cotenant:Unavailable: storage down")
                   .connectionLost);
  EXPECT_FALSE(internal::classifyFailure(ExceptionKind::Overloaded, "busy").connectionLost);
}

TEST(ErrorMapping, UntaggedKinds) {
  auto d = internal::classifyFailure(internal::ExceptionKind::Disconnected,
                                     "remote exception: Peer disconnected.");
  EXPECT_EQ(d.code, ErrorCode::Unavailable);
  EXPECT_EQ(d.message, "Peer disconnected.");
  EXPECT_EQ(internal::classifyFailure(internal::ExceptionKind::Overloaded, "busy").code,
            ErrorCode::Busy);
  auto busy = internal::classifyFailure(internal::ExceptionKind::Overloaded,
                                        "remote exception: cotenant:Busy: queue full");
  EXPECT_EQ(busy.code, ErrorCode::Busy);
  EXPECT_EQ(busy.message, "queue full");
  EXPECT_EQ(internal::classifyFailure(internal::ExceptionKind::Failed, "remote exception: boom").code,
            ErrorCode::Internal);
  // A local transport failure is Unavailable even when KJ typed it FAILED.
  EXPECT_EQ(internal::classifyFailure(internal::ExceptionKind::Failed,
                                      "read(fd): Connection reset by peer").code,
            ErrorCode::Unavailable);
  // An unknown code name is not trusted.
  auto u = internal::classifyFailure(internal::ExceptionKind::Failed,
                                     "remote exception: cotenant:Weird: x");
  EXPECT_EQ(u.code, ErrorCode::Internal);
  EXPECT_EQ(u.message, "cotenant:Weird: x");
  // A tagged error wins over the exception type.
  EXPECT_EQ(internal::classifyFailure(internal::ExceptionKind::Disconnected,
                                      "cotenant:Unauthenticated: bad key")
                .code,
            ErrorCode::Unauthenticated);
}

TEST(Values, Formatting) {
  EXPECT_EQ(Value().toString(), "null");
  EXPECT_EQ(Value::text("héllo").toString(), "héllo");
  EXPECT_EQ(Value::integer(-42).toString(), "-42");
  EXPECT_EQ(Value::floating(0.1).toString(), "0.1");
  EXPECT_EQ(Value::floating(3).toString(), "3");
  EXPECT_EQ(Value::boolean(false).toString(), "false");
  EXPECT_EQ(Value::timestamp(0).toString(), "1970-01-01T00:00:00Z");
  EXPECT_EQ(Value::timestamp(1714564800000000).toString(), "2024-05-01T12:00:00Z");
  EXPECT_EQ(Value::timestamp(1714564800000001).toString(), "2024-05-01T12:00:00.000001Z");
  EXPECT_EQ(Value::timestamp(-1).toString(), "1969-12-31T23:59:59.999999Z");
  EXPECT_THROW(Value::integer(1).asText(), std::logic_error);
}

TEST(Helpers, FieldLists) {
  EXPECT_TRUE(internal::splitFieldList("*").empty());
  EXPECT_TRUE(internal::splitFieldList("").empty());
  EXPECT_TRUE(internal::splitFieldList("a,*").empty());
  EXPECT_EQ(internal::splitFieldList(" first_name , age,,"),
            (std::vector<std::string>{"first_name", "age"}));
}

TEST(Helpers, SortOrders) {
  EXPECT_EQ(internal::parseSortDescending(""), false);
  EXPECT_EQ(internal::parseSortDescending("ASC"), false);
  EXPECT_EQ(internal::parseSortDescending("Descending"), true);
  EXPECT_EQ(internal::parseSortDescending("up"), std::nullopt);
}

TEST(Helpers, Addresses) {
  EXPECT_EQ(internal::checkAddress("127.0.0.1:7770"), "");
  EXPECT_EQ(internal::checkAddress("[::1]:7770"), "");
  EXPECT_NE(internal::checkAddress("localhost"), "");
  EXPECT_NE(internal::checkAddress("localhost:0"), "");
  EXPECT_NE(internal::checkAddress("localhost:99999"), "");
  EXPECT_NE(internal::checkAddress("::1:7770"), "");
}

TEST(Helpers, AddressLists) {
  std::vector<std::string> out;
  std::string error;
  ASSERT_TRUE(internal::splitAddressList("a:7770, [::1]:7771 ,c:1", &out, &error)) << error;
  EXPECT_EQ(out, (std::vector<std::string>{"a:7770", "[::1]:7771", "c:1"}));
  ASSERT_TRUE(internal::splitAddressList("127.0.0.1:7770", &out, &error)) << error;
  EXPECT_EQ(out, (std::vector<std::string>{"127.0.0.1:7770"}));
  EXPECT_FALSE(internal::splitAddressList("a:7770,b", &out, &error));
  EXPECT_NE(error.find("'b'"), std::string::npos) << error;
  EXPECT_FALSE(internal::splitAddressList("a:7770,,b:1", &out, &error));
  EXPECT_NE(error.find("empty entry"), std::string::npos) << error;
  EXPECT_FALSE(internal::splitAddressList("", &out, &error));
}

TEST(Helpers, EnumNamesRoundTrip) {
  EXPECT_EQ(parseAdminLevel("tenant-admin"), AdminLevel::TenantAdmin);
  EXPECT_EQ(parseTenantKind("msp"), TenantKind::Msp);
  EXPECT_EQ(parseFieldType("timestamp"), FieldType::Timestamp);
  EXPECT_EQ(parseFieldType("string"), std::nullopt);
  EXPECT_STREQ(errorCodeName(ErrorCode::PermissionDenied), "PermissionDenied");
}

TEST(Rights, FormatAndParse) {
  EXPECT_EQ(formatRights(Rights{}), "none");
  EXPECT_EQ(formatRights(Rights::all()), "read,add,update,delete");
  EXPECT_EQ(formatRights(Rights{true, false, false, true}), "read,delete");
  EXPECT_EQ(parseRights("read,add"), (Rights{true, true, false, false}));
  EXPECT_EQ(parseRights(" delete , read"), (Rights{true, false, false, true}));
  EXPECT_EQ(parseRights("all"), Rights::all());
  EXPECT_EQ(parseRights("none"), Rights{});
  for (const char* bad : {"", "read,", ",read", "read,read", "write", "Read", "all,read",
                          "read,none", "all,none"}) {
    EXPECT_EQ(parseRights(bad), std::nullopt) << bad;
  }
  for (const Rights& r : {Rights{}, Rights::all(), Rights{false, true, true, false}}) {
    EXPECT_EQ(parseRights(formatRights(r)), r);
  }
}

TEST(PermissionSets, EffectNames) {
  EXPECT_STREQ(effectName(Effect::Allow), "allow");
  EXPECT_STREQ(effectName(Effect::Deny), "deny");
  EXPECT_EQ(parseEffect("deny"), Effect::Deny);
  EXPECT_EQ(parseEffect("allow"), Effect::Allow);
  EXPECT_EQ(parseEffect("Deny"), std::nullopt);
  Explanation e;
  e.code = "PermissionDenied";
  EXPECT_EQ(e.errorCode(), ErrorCode::PermissionDenied);
  e.code = "OK";
  EXPECT_EQ(e.errorCode(), ErrorCode::OK);
  e.code = "Strange";
  EXPECT_EQ(e.errorCode(), ErrorCode::Internal);
}

TEST(Connect, RefusedIsUnavailable) {
  // Port 1 on loopback: nothing listens there in a test environment.
  try {
    Client::connect("127.0.0.1:1", 1, "key");
    FAIL() << "connect succeeded";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::Unavailable) << e.what();
  }
  try {
    Client::connect("no-port", 1, "key");
    FAIL() << "connect succeeded";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::InvalidArgument);
  }
}

}  // namespace
}  // namespace cotenant
