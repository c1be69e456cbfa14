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
//   literal   := 'text' ('' escapes a quote) | number | TRUE | FALSE
//              | timestamp (bare ISO 8601, e.g. 2024-05-01T12:00:00Z or 2024-05-01)
//   field     := [A-Za-z_][A-Za-z0-9_]*
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
  size_t position = 0;  // 1-based column of the field name, for Bind errors
};

// Parses `text`. An empty or all-blank text yields *out == nullptr (match everything).
// Errors are InvalidArgument: "criteria: at column N: expected <what>, found <token>".
Status Parse(std::string_view text, std::unique_ptr<Expr>* out);

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
  std::shared_ptr<const re2::RE2> regex;  // kMatches only

  ~BoundExpr();
  // Does the record satisfy the expression?
  bool Matches(const Record& record) const;
  // Appends the slots the expression reads (may repeat).
  void CollectSlots(std::vector<int>* slots) const;
};

// Binds a parsed expression to an object. Errors are InvalidArgument naming the column
// and the problem: unknown field, a literal that does not convert to the field's type
// (e.g. 'abc' for an int field), contains/starts with/matches on a non-text field, a
// bad RE2 pattern (with RE2's reason), ordering comparisons on bool fields.
// `expr` may be nullptr: then *out is nullptr (match everything).
Status Bind(const Expr* expr, const ObjectDef& object, std::unique_ptr<BoundExpr>* out);

// Parse + Bind in one step.
Status Compile(std::string_view text, const ObjectDef& object,
               std::unique_ptr<BoundExpr>* out);

}  // namespace cotenant::storage::criteria

#endif  // COTENANT_STORAGE_CRITERIA_H_
