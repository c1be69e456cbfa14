// Criteria: binding a parsed expression to an object (criteria::Bind, Compile) and
// evaluating the bound expression against records (BoundExpr). Parsing:
// criteria_parse.cc.

#include <algorithm>
#include <charconv>
#include <string>

#include <re2/re2.h>

#include "storage/criteria.h"
#include "storage/criteria_internal.h"

namespace cotenant::storage::criteria {

namespace {

// Longer IN lists are sorted at bind time and searched by bisection.
constexpr size_t kLinearInLimit = 8;

std::string_view OpName(Op op) {
  switch (op) {
    case Op::kEq: return "=";
    case Op::kNe: return "!=";
    case Op::kLt: return "<";
    case Op::kLe: return "<=";
    case Op::kGt: return ">";
    case Op::kGe: return ">=";
    case Op::kContains: return "CONTAINS";
    case Op::kStartsWith: return "STARTS WITH";
    case Op::kMatches: return "MATCHES";
    case Op::kIn: return "IN";
    case Op::kNotIn: return "NOT IN";
    case Op::kIsNull: return "IS NULL";
    case Op::kIsNotNull: return "IS NOT NULL";
  }
  return "?";
}

// The system fields that are unsigned 64-bit integers in the model.
bool IsUnsignedSlot(int slot) {
  switch (static_cast<SystemField>(slot)) {
    case SystemField::kId:
    case SystemField::kVersion:
    case SystemField::kCreatedBy:
    case SystemField::kModifiedBy:
      return true;
    default:
      return false;
  }
}

// Total order of a field's values: unsigned fields compare their bit patterns unsigned.
int Cmp(bool unsigned_int, const Value& a, const Value& b) {
  if (!unsigned_int) return a.Compare(b);
  const auto x = static_cast<uint64_t>(a.int_value()), y = static_cast<uint64_t>(b.int_value());
  return x < y ? -1 : (x > y ? 1 : 0);
}

// One literal for an unsigned system field: an integer (or text holding one) from 0 to
// UINT64_MAX, held as its bit pattern.
Status ToUnsigned(const Value& literal, bool wide, std::string_view field, Value* out) {
  if (literal.is_null() || literal.type() != FieldType::kText) {
    if (!literal.is_null() && literal.type() == FieldType::kInt &&
        (wide || literal.int_value() >= 0)) {
      *out = literal;
      return Status::OK();
    }
  } else {
    const std::string& s = literal.text();
    uint64_t u = 0;
    auto res = std::from_chars(s.data(), s.data() + s.size(), u);
    if (!s.empty() && res.ec == std::errc() && res.ptr == s.data() + s.size()) {
      *out = Value::Int(static_cast<int64_t>(u));
      return Status::OK();
    }
  }
  return Status::InvalidArgument("field '" + std::string(field) +
                                 "' expects an integer from 0 to 18446744073709551615, got " +
                                 std::string(literal.is_null() ? "null"
                                                               : FieldTypeName(literal.type())) +
                                 " '" + literal.ToString() + "'");
}

Status BindNode(const Expr& e, const ObjectDef& object, std::unique_ptr<BoundExpr>* out) {
  auto node = std::make_unique<BoundExpr>();
  switch (e.kind) {
    case Expr::Kind::kAnd: node->kind = BoundExpr::Kind::kAnd; break;
    case Expr::Kind::kOr: node->kind = BoundExpr::Kind::kOr; break;
    case Expr::Kind::kNot: node->kind = BoundExpr::Kind::kNot; break;
    case Expr::Kind::kPredicate: node->kind = BoundExpr::Kind::kPredicate; break;
  }
  if (e.kind != Expr::Kind::kPredicate) {
    for (const auto& child : e.children) {
      std::unique_ptr<BoundExpr> bound;
      COTENANT_RETURN_IF_ERROR(BindNode(*child, object, &bound));
      node->children.push_back(std::move(bound));
    }
    *out = std::move(node);
    return Status::OK();
  }

  const std::string at = At(e.position);
  std::optional<int> slot = object.Slot(e.field);
  if (!slot) {
    return Status::InvalidArgument(at + "unknown field '" + e.field + "' in object '" +
                                   object.name + "'");
  }
  node->slot = *slot;
  node->type = object.SlotType(*slot);
  node->op = e.op;
  const std::string type_name(FieldTypeName(node->type));

  switch (e.op) {
    case Op::kContains:
    case Op::kStartsWith:
    case Op::kMatches:
      if (node->type != FieldType::kText) {
        return Status::InvalidArgument(at + std::string(OpName(e.op)) +
                                       " needs a text field; '" + e.field + "' is " + type_name);
      }
      break;
    case Op::kLt:
    case Op::kLe:
    case Op::kGt:
    case Op::kGe:
      if (node->type == FieldType::kBool) {
        return Status::InvalidArgument(at + "'" + std::string(OpName(e.op)) +
                                       "' does not apply to bool field '" + e.field +
                                       "'; use = or !=");
      }
      break;
    default:
      break;
  }

  node->unsigned_int = IsUnsignedSlot(*slot) && e.op != Op::kIsNull && e.op != Op::kIsNotNull;
  node->operands.reserve(e.operands.size());
  for (size_t i = 0; i < e.operands.size(); ++i) {
    const Value& literal = e.operands[i];
    const bool wide = std::find(e.wide.begin(), e.wide.end(), i) != e.wide.end();
    Value converted;
    Status st;
    if (node->unsigned_int) {
      st = ToUnsigned(literal, wide, e.field, &converted);
    } else if (wide) {
      const auto u = static_cast<uint64_t>(literal.int_value());
      if (node->type == FieldType::kFloat) {
        converted = Value::Float(static_cast<double>(u));
      } else {
        st = Status::InvalidArgument(
            "field '" + e.field + "' expects " + type_name + ", got integer " + std::to_string(u) +
            (node->type == FieldType::kInt ? " (int fields end at 9223372036854775807)" : ""));
      }
    } else {
      st = CoerceValue(literal, node->type, e.field, &converted);
    }
    if (!st.ok()) return Status::InvalidArgument(at + st.message());
    node->operands.push_back(std::move(converted));
  }

  if (e.op == Op::kMatches) {
    RE2::Options options;
    options.set_log_errors(false);
    const std::string& pattern = node->operands.at(0).text();
    auto re = std::make_shared<const RE2>(pattern, options);
    if (!re->ok()) {
      return Status::InvalidArgument(at + "bad regular expression '" + pattern +
                                     "' for field '" + e.field + "': " + re->error());
    }
    node->regex = std::move(re);
  }

  if ((e.op == Op::kIn || e.op == Op::kNotIn) && node->operands.size() > kLinearInLimit) {
    const bool u = node->unsigned_int;
    auto less = [u](const Value& a, const Value& b) { return Cmp(u, a, b) < 0; };
    std::sort(node->operands.begin(), node->operands.end(), less);
    auto same = [u](const Value& a, const Value& b) { return Cmp(u, a, b) == 0; };
    node->operands.erase(std::unique(node->operands.begin(), node->operands.end(), same),
                         node->operands.end());
  }

  *out = std::move(node);
  return Status::OK();
}

bool InList(bool u, const std::vector<Value>& list, const Value& v) {
  if (list.size() <= kLinearInLimit) {
    for (const Value& x : list) {
      if (Cmp(u, v, x) == 0) return true;
    }
    return false;
  }
  auto it = std::lower_bound(list.begin(), list.end(), v,
                             [u](const Value& a, const Value& b) { return Cmp(u, a, b) < 0; });
  return it != list.end() && Cmp(u, *it, v) == 0;
}

bool PredicateMatches(const BoundExpr& e, const Record& record) {
  // Declared fields are read in place; system fields are ints and timestamps, which a
  // Value holds without allocating. Nothing here allocates: this runs for every row.
  Value system_value;
  const Value* v = &system_value;
  if (e.slot >= 0) {
    if (static_cast<size_t>(e.slot) < record.values.size()) {
      v = &record.values[static_cast<size_t>(e.slot)];
    }
  } else {
    system_value = record.Get(e.slot);
  }

  if (e.op == Op::kIsNull) return v->is_null();
  if (e.op == Op::kIsNotNull) return !v->is_null();
  // The store writes only coerced values, so a type mismatch means a stale or corrupt
  // row; treat it like a value that matches nothing rather than comparing across types.
  if (v->is_null() || v->type() != e.type) return false;

  const bool u = e.unsigned_int;
  switch (e.op) {
    case Op::kEq: return Cmp(u, *v, e.operands[0]) == 0;
    case Op::kNe: return Cmp(u, *v, e.operands[0]) != 0;
    case Op::kLt: return Cmp(u, *v, e.operands[0]) < 0;
    case Op::kLe: return Cmp(u, *v, e.operands[0]) <= 0;
    case Op::kGt: return Cmp(u, *v, e.operands[0]) > 0;
    case Op::kGe: return Cmp(u, *v, e.operands[0]) >= 0;
    case Op::kContains:
      return std::string_view(v->text()).find(e.operands[0].text()) != std::string_view::npos;
    case Op::kStartsWith: return std::string_view(v->text()).starts_with(e.operands[0].text());
    case Op::kMatches: return RE2::FullMatch(v->text(), *e.regex);
    case Op::kIn: return InList(u, e.operands, *v);
    case Op::kNotIn: return !InList(u, e.operands, *v);
    case Op::kIsNull:
    case Op::kIsNotNull: break;  // handled above
  }
  return false;
}

}  // namespace

BoundExpr::~BoundExpr() = default;

bool BoundExpr::Matches(const Record& record) const {
  switch (kind) {
    case Kind::kAnd:
      for (const auto& c : children) {
        if (!c->Matches(record)) return false;
      }
      return true;
    case Kind::kOr:
      for (const auto& c : children) {
        if (c->Matches(record)) return true;
      }
      return false;
    case Kind::kNot:
      return !children[0]->Matches(record);
    case Kind::kPredicate:
      return PredicateMatches(*this, record);
  }
  return false;
}

void BoundExpr::CollectSlots(std::vector<int>* slots) const {
  if (kind == Kind::kPredicate) {
    slots->push_back(slot);
    return;
  }
  for (const auto& c : children) c->CollectSlots(slots);
}

Status Bind(const Expr* expr, const ObjectDef& object, std::unique_ptr<BoundExpr>* out) {
  if (expr == nullptr) {
    out->reset();
    return Status::OK();
  }
  std::unique_ptr<BoundExpr> result;
  COTENANT_RETURN_IF_ERROR(BindNode(*expr, object, &result));
  *out = std::move(result);
  return Status::OK();
}

Status Compile(std::string_view text, const ObjectDef& object,
               std::unique_ptr<BoundExpr>* out, const std::vector<Value>& params) {
  std::unique_ptr<Expr> expr;
  COTENANT_RETURN_IF_ERROR(Parse(text, &expr, params));
  return Bind(expr.get(), object, out);
}

}  // namespace cotenant::storage::criteria
