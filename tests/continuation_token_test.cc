// Search continuation tokens end to end: a token pages through exactly the query it came
// from, for exactly the caller and scope it was issued to. Replayed by another tenant, by
// another user, under another scope, for another query, or altered, it is InvalidArgument.

#include <set>
#include <string>
#include <vector>

#include "tests/e2e_util.h"

namespace cotenant::testing {
namespace {

constexpr char kRefused[] = "continuation token does not belong to this query";

void AddPeople(Client& c, int n) {
  for (int i = 0; i < n; ++i) {
    Parameters p;
    p.add("first_name", "P" + std::to_string(100 + i)).add("age", int64_t{i});
    Result r = c.addRecord("Customers", p);
    ASSERT_TRUE(r.ok()) << r.getMessage();
  }
}

SearchQuery Query(const std::string& continuation = "") {
  SearchQuery q;
  q.object = "Customers";
  q.fields = "first_name,age";
  q.criteria = "age >= 0";
  q.sortBy = "age";
  q.sortOrder = "desc";
  q.numberOfRows = 10;
  q.continuation = continuation;
  return q;
}

void ExpectRefused(const Result& r, const std::string& what) {
  EXPECT_EQ(r.getCode(), ErrorCode::InvalidArgument) << what << ": " << r.getMessage();
  EXPECT_NE(r.getMessage().find(kRefused), std::string::npos) << what << ": " << r.getMessage();
  EXPECT_TRUE(r.getRecords().empty()) << what;
}

TEST(ContinuationTokenTest, ATokenServesOnlyTheCallerScopeAndQueryItWasIssuedFor) {
  Cotenantd server;
  ASSERT_TRUE(server.ok()) << server.log();
  auto admin = AdminClient(server);
  TenantHandle a = MakeTenant(server, *admin, "A");
  TenantHandle b = MakeTenant(server, *admin, "B");
  TenantHandle c = MakeTenant(server, *admin, "C");
  ASSERT_TRUE(a.client && b.client && c.client);
  AddPeople(*a.client, 25);
  AddPeople(*b.client, 25);

  // A valid token pages through everything, in order, without repeats; offset and page
  // size may change between pages.
  std::vector<int64_t> ages;
  std::string token;
  Result first = a.client->search(Query());
  ASSERT_TRUE(first.ok()) << first.getMessage();
  ASSERT_FALSE(first.complete());
  ASSERT_FALSE(first.continuation().empty());
  const std::string a_token = first.continuation();
  for (const auto& r : first.getRecords()) ages.push_back(r.get("age").asInt());
  token = a_token;
  for (int page = 0; page < 10 && !token.empty(); ++page) {
    SearchQuery q = Query(token);
    q.numberOfRows = page == 0 ? 7 : 10;
    Result r = a.client->search(q);
    ASSERT_TRUE(r.ok()) << r.getMessage();
    for (const auto& rec : r.getRecords()) ages.push_back(rec.get("age").asInt());
    EXPECT_EQ(r.complete(), r.continuation().empty());
    token = r.continuation();
  }
  ASSERT_EQ(ages.size(), 25u);
  for (size_t i = 0; i < ages.size(); ++i) EXPECT_EQ(ages[i], 24 - static_cast<int64_t>(i));

  // Tenant B, with an object of the same name and shape, replays A's token.
  ExpectRefused(b.client->search(Query(a_token)), "another tenant");
  // A second user of A, with the same rights: another principal.
  auto u2 = a.client->createUser(0, "second", AdminLevel::User);
  ASSERT_TRUE(u2.ok()) << u2.getMessage();
  ASSERT_TRUE(a.client->addRoleMember(0, "data-all", a.id, u2.value().user.id).ok());
  auto a2 = Client::connect(server.address(), a.id, u2.value().apiKey);
  Result own2 = a2->search(Query());
  ASSERT_TRUE(own2.ok()) << own2.getMessage();  // the query itself is fine for user 2
  ExpectRefused(a2->search(Query(a_token)), "another user of the tenant");
  // The same caller, another query.
  SearchQuery other = Query(a_token);
  other.criteria = "age >= 1";
  ExpectRefused(a.client->search(other), "other criteria");
  other = Query(a_token);
  other.sortOrder = "asc";
  ExpectRefused(a.client->search(other), "other sort order");
  // Altered in any byte, cut short, or made up.
  for (size_t i = 0; i < a_token.size(); ++i) {
    std::string flipped = a_token;
    flipped[i] = static_cast<char>(flipped[i] ^ 0x01);
    ExpectRefused(a.client->search(Query(flipped)), "byte " + std::to_string(i) + " flipped");
  }
  ExpectRefused(a.client->search(Query(a_token.substr(0, a_token.size() - 1))), "truncated");
  ExpectRefused(a.client->search(Query("garbage")), "garbage");
  // The genuine token still works for its owner.
  Result again = a.client->search(Query(a_token));
  ASSERT_TRUE(again.ok()) << again.getMessage();
  ASSERT_FALSE(again.getRecords().empty());
  EXPECT_EQ(again.getRecords()[0].get("age").asInt(), 14);

  // Through a policy: C reads A's records of age >= 5 as A's user 2. A token issued under
  // that scope is refused once the scope has changed, and to A's own users.
  PolicyInfo p;
  p.name = "to-c";
  p.designated = c.id;
  p.userId = u2.value().user.id;
  p.scope = {{"Customers", "age >= 5", {"first_name", "age"}}};
  ASSERT_TRUE(a.client->createPolicy(0, p).ok());
  TenantContext ctx(*c.client, a.id);
  Result shared = c.client->search(Query(), ctx);
  ASSERT_TRUE(shared.ok()) << shared.getMessage();
  ASSERT_FALSE(shared.continuation().empty());
  const std::string c_token = shared.continuation();
  Result next = c.client->search(Query(c_token), ctx);
  ASSERT_TRUE(next.ok()) << next.getMessage();
  ExpectRefused(a2->search(Query(c_token)), "the policy user in its own tenant");
  ExpectRefused(a.client->search(Query(c_token)), "the publisher's admin");
  ExpectRefused(c.client->search(Query(a_token), ctx), "A's own token through the policy");
  p.scope = {{"Customers", "age >= 6", {"first_name", "age"}}};
  ASSERT_TRUE(a.client->updatePolicy(0, p).ok());
  ExpectRefused(c.client->search(Query(c_token), TenantContext(*c.client, a.id)),
                "after the policy's row filter changed");
  p.scope = {{"Customers", "age >= 5", {"first_name", "age", "last_name"}}};
  ASSERT_TRUE(a.client->updatePolicy(0, p).ok());
  ExpectRefused(c.client->search(Query(c_token), TenantContext(*c.client, a.id)),
                "after the policy's field list changed");
  // Back to the scope it was issued under: valid again (the binding is the scope, not time).
  p.scope = {{"Customers", "age >= 5", {"first_name", "age"}}};
  ASSERT_TRUE(a.client->updatePolicy(0, p).ok());
  Result back = c.client->search(Query(c_token), TenantContext(*c.client, a.id));
  EXPECT_TRUE(back.ok()) << back.getMessage();
}

TEST(ContinuationTokenTest, TokensSurviveARestartWithTheSameSecret) {
  Cotenantd server;
  ASSERT_TRUE(server.ok()) << server.log();
  auto admin = AdminClient(server);
  TenantHandle a = MakeTenant(server, *admin, "A");
  AddPeople(*a.client, 15);
  Result first = a.client->search(Query());
  ASSERT_TRUE(first.ok()) << first.getMessage();
  const std::string token = first.continuation();
  ASSERT_FALSE(token.empty());
  ASSERT_TRUE(server.Restart()) << server.log();
  auto again = Client::connect(server.address(), a.id, a.key);
  Result r = again->search(Query(token));
  ASSERT_TRUE(r.ok()) << r.getMessage();
  EXPECT_EQ(r.getRecords().size(), 5u);
  EXPECT_TRUE(r.complete());
}

}  // namespace
}  // namespace cotenant::testing
