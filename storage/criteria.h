// Criteria expressions: the filter language of searchRecords (docs/CRITERIA.md).
//
//   expr      := or
//   or        := and ( OR and )*
//   and       := not ( AND not )*
//   not       := NOT not | '(' expr ')' | predicate
//   predicate := field ( '=' | '!=' | '<>' | '<' | '<=' | '>' | '>=' ) literal
//              | field CONTAINS text | field STARTS WITH text | field MATCHES text
//              | field [NOT] IN '(' literal ( ',' literal )* ')'
//              | field IS [NOT] NULL
//   literal   := 'text' ('' escapes a quote) | number | TRUE | FALSE | '?' 
//                (integers: -2^63 .. 2^64-1; above 2^63-1 only for unsigned system fields)
//              | timestamp (bare ISO 8601, e.g. 2024-05-01T12:00:00Z or 2024-05-01)
//   field     := [A-Za-z_][A-Za-z0-9_]*
// A '?' stands for the next of the values bound to the criteria (in order), which it takes
// as written: a text parameter needs no quoting or escaping. Text operands (contains,
// starts with, matches) take text parameters only.
// Keywords are case-insensitive. Parsing does not know the object; Bind checks field
// names and types against one ObjectDef and compiles `matches` patterns with RE2
// (whole-string match).
//
// Semantics: a comparison, contains, starts with, matches or in on a null value is false
// (only IS NULL matches it); NOT negates the result of its operand, so NOT (a = 1) holds
// for a null `a`. Text compares bytewise (UTF-8 code point order).
//
// Thread safety: a BoundExpr is immutable after Bind and may be evaluated from any
// number of threads at once.

#ifndef COTENANT_STORAGE_CRITERIA_H_
#define COTENANT_STORAGE_CRITERIA_H_

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "storage/storage.h"
#include "storage/value.h"

namespace re2 {
class RE2;
}

namespace cotenant::storage::criteria {

enum class Op : unsigned char {
  kEq, kNe, kLt, kLe, kGt, kGe,
  kContains, kStartsWith, kMatches,
  kIn, kNotIn,
  kIsNull, kIsNotNull,
};

// Parsed, unbound expression.
struct Expr {
  enum class Kind : unsigned char { kAnd, kOr, kNot, kPredicate };
  Kind kind = Kind::kPredicate;
  std::vector<std::unique_ptr<Expr>> children;  // kAnd/kOr: 2+; kNot: 1
  // kPredicate:
  std::string field;
  Op op = Op::kEq;
  // Literal operands as written (one for comparisons, contains, starts with, matches;
  // one or more for in; none for is null). A bare timestamp literal is a timestamp
  // Value; a quoted literal is text; numbers are int when they have no '.' or exponent.
  std::vector<Value> operands;
  // Indexes into `operands` of integer literals above INT64_MAX (up to UINT64_MAX), which
  // only the unsigned system fields can take. Such an operand holds the literal's 64-bit
  // pattern in an int Value.
  std::vector<size_t> wide;
  size_t position = 0;  // 1-based column of the field name, for Bind errors
};

// Parses `text`. An empty or all-blank text yields *out == nullptr (match everything).
// Errors are InvalidArgument: "criteria: at column N: expected <what>, found <token>".
// Whatever the text's length, Parse stops reading at the first token nested deeper than
// kMaxDepth or past the kMaxTokens-th token, so its memory and time stay bounded; callers
// still bound the text itself (CheckSize) before handing it over.
// `params` are the values of the '?' placeholders, in order: one each, none null; a
// placeholder without a value or a value without a placeholder is InvalidArgument.
Status Parse(std::string_view text, std::unique_ptr<Expr>* out,
             const std::vector<Value>& params = {});

// Parentheses and NOTs each add a nesting level; deeper is InvalidArgument.
inline constexpr int kMaxDepth = 64;
// Most tokens in one criteria text; more is InvalidArgument.
inline constexpr size_t kMaxTokens = 8192;

// The size check of every criteria text a client sends (search criteria, the row filters
// of policies and of explain's draft policies), made before the text is copied or parsed:
// InvalidArgument "<what> is N bytes; the limit is <limit> bytes" when size > limit.
// `what` names the input ("criteria", "row filter of object Customers").
Status CheckSize(std::string_view what, size_t size, size_t limit);

// An expression bound to one object: field names resolved to slots, literals converted
// to the field's type, regexes compiled. The planner (storage/search.cc) walks it.
struct BoundExpr {
  enum class Kind : unsigned char { kAnd, kOr, kNot, kPredicate };
  Kind kind = Kind::kPredicate;
  std::vector<std::unique_ptr<BoundExpr>> children;
  // kPredicate:
  int slot = 0;                     // ObjectDef::Slot of the field
  FieldType type = FieldType::kText;
  Op op = Op::kEq;
  std::vector<Value> operands;      // converted to `type` (text for contains/starts/matches)
  // The field is an unsigned system field (id, version, createdBy, modifiedBy): its value
  // and the operands hold 64-bit unsigned integers as int Values of the same bit pattern,
  // compared as unsigned.
  bool unsigned_int = false;
  std::shared_ptr<const re2::RE2> regex;  // kMatches only

  ~BoundExpr();
  // Does the record satisfy the expression?
  bool Matches(const Record& record) const;
  // Appends the slots the expression reads (may repeat).
  void CollectSlots(std::vector<int>* slots) const;
};

// Binds a parsed expression to an object. Errors are InvalidArgument naming the column
// and the problem: unknown field, a literal that does not convert to the field's type
// (e.g. 'abc' for an int field, an integer above INT64_MAX for a declared int field, a
// negative one for id, version, createdBy or modifiedBy, which take 0..UINT64_MAX), contains/starts with/matches on a non-text field, a
// bad RE2 pattern (with RE2's reason), ordering comparisons on bool fields.
// `expr` may be nullptr: then *out is nullptr (match everything).
Status Bind(const Expr* expr, const ObjectDef& object, std::unique_ptr<BoundExpr>* out);

// Parse + Bind in one step.
Status Compile(std::string_view text, const ObjectDef& object,
               std::unique_ptr<BoundExpr>* out, const std::vector<Value>& params = {});

}  // namespace cotenant::storage::criteria

#endif  // COTENANT_STORAGE_CRITERIA_H_
