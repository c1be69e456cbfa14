// Criteria: the lexer and the recursive-descent parser (criteria::Parse, see
// storage/criteria.h). Binding and evaluation: criteria_eval.cc.

#include <charconv>
#include <string>

#include "storage/criteria.h"
#include "storage/criteria_internal.h"

namespace cotenant::storage::criteria {

std::string At(size_t column) { return "criteria: at column " + std::to_string(column) + ": "; }

Status CheckSize(std::string_view what, size_t size, size_t limit) {
  if (size <= limit) return Status::OK();
  return Status::InvalidArgument(std::string(what) + " is " + std::to_string(size) +
                                 " bytes; the limit is " + std::to_string(limit) + " bytes");
}

namespace {

// kMaxDepth keeps recursion (parse, bind and every evaluation) far from the stack's end
// whatever a client sends; kMaxTokens keeps the token list and the tree small.

enum class Tok : unsigned char {
  kEnd, kWord, kString, kInt, kFloat, kTimestamp, kOp, kLParen, kRParen, kComma,
  kParam,  // '?': the next bound parameter
  kOther,  // a character that starts no token; the parser reports it
  kError,  // a malformed token; `error` holds the full message
};

struct Token {
  Tok kind = Tok::kEnd;
  size_t column = 0;     // 1-based byte column of the first character
  std::string_view text;  // as written
  Value value;            // literals
  bool wide = false;      // kInt above INT64_MAX: `value` holds its uint64 bit pattern
  std::string error;      // kError
};


// Quoted excerpt of user input for messages, cut when long.
std::string Excerpt(std::string_view s) {
  constexpr size_t kMax = 40;
  std::string out = "'";
  out.append(s.substr(0, kMax));
  if (s.size() > kMax) out += "...";
  out += "'";
  return out;
}

std::string Describe(const Token& t) {
  switch (t.kind) {
    case Tok::kEnd: return "end of input";
    case Tok::kString: return "string " + Excerpt(t.text);
    case Tok::kInt:
    case Tok::kFloat: return "number " + std::string(t.text);
    case Tok::kTimestamp: return "timestamp " + std::string(t.text);
    case Tok::kParam: return "parameter '?'";
    default: return Excerpt(t.text);
  }
}

bool IsAlpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
bool IsDigit(char c) { return c >= '0' && c <= '9'; }
bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

bool KeywordIs(std::string_view word, std::string_view upper) {
  if (word.size() != upper.size()) return false;
  for (size_t i = 0; i < word.size(); ++i) {
    char c = word[i];
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
    if (c != upper[i]) return false;
  }
  return true;
}

bool IsReserved(std::string_view word) {
  static constexpr std::string_view kReserved[] = {
      "AND", "OR", "NOT", "IN", "IS", "NULL", "TRUE", "FALSE",
      "CONTAINS", "STARTS", "WITH", "MATCHES"};
  for (auto k : kReserved) {
    if (KeywordIs(word, k)) return true;
  }
  return false;
}

// '-'? digit+ ('.' digit+)? ([eE] [+-]? digit+)?
bool WellFormedNumber(std::string_view s, bool* is_float) {
  size_t i = 0;
  auto digits = [&] {
    size_t start = i;
    while (i < s.size() && IsDigit(s[i])) ++i;
    return i > start;
  };
  *is_float = false;
  if (i < s.size() && s[i] == '-') ++i;
  if (!digits()) return false;
  if (i < s.size() && s[i] == '.') {
    ++i;
    *is_float = true;
    if (!digits()) return false;
  }
  if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
    ++i;
    *is_float = true;
    if (i < s.size() && (s[i] == '+' || s[i] == '-')) ++i;
    if (!digits()) return false;
  }
  return i == s.size();
}

class Lexer {
 public:
  explicit Lexer(std::string_view in) : in_(in) {}

  // Also counts nesting while lexing, so that a deeply nested input stops being tokenised
  // at the first token past kMaxDepth rather than at its end. The count is never more than
  // the parser's depth at that token: the '(' still open (IN lists aside, the parser opens
  // the same ones) plus the NOTs in a row just before it, which are all still open. So
  // past kMaxDepth the parser fails at that token at the latest (nested too deep, or the
  // token is unexpected there) and never looks further: what follows cannot change the
  // outcome.
  std::vector<Token> Run() {
    std::vector<Token> out;
    int open = 0;                // '(' not yet closed, outside IN lists
    int nots = 0;                // NOTs in a row just before, each opening a level
    bool in_list = false;        // between IN '(' and its ')'
    bool after_in = false;       // the previous token is IN
    bool starts_operand = true;  // the previous token is followed by a NOT-expression
    for (;;) {
      while (pos_ < in_.size() && IsSpace(in_[pos_])) ++pos_;
      if (out.size() == kMaxTokens && pos_ < in_.size()) {
        // The parser reports this token wherever it reaches it; nothing after it is read.
        Token& over = out.emplace_back();
        over.kind = Tok::kError;
        over.column = pos_ + 1;
        over.error = At(over.column) + "criteria longer than " + std::to_string(kMaxTokens) +
                     " tokens";
        break;
      }
      out.push_back(Next());
      const Token& t = out.back();
      if (t.kind == Tok::kEnd || t.kind == Tok::kError) break;
      const bool is_word = t.kind == Tok::kWord;
      int depth = 0;
      bool opens_operand = false;
      if (t.kind == Tok::kLParen) {
        if (after_in) {
          in_list = true;
        } else if (!in_list) {
          depth = ++open + nots;
          opens_operand = true;
        }
        nots = 0;
      } else if (is_word && starts_operand && KeywordIs(t.text, "NOT")) {
        depth = open + ++nots;
        opens_operand = true;
      } else {
        nots = 0;
        if (t.kind == Tok::kRParen) {
          if (in_list) {
            in_list = false;
          } else if (open > 0) {
            --open;
          }
        }
        opens_operand = is_word && (KeywordIs(t.text, "AND") || KeywordIs(t.text, "OR"));
      }
      starts_operand = opens_operand;
      after_in = is_word && KeywordIs(t.text, "IN");
      if (depth > kMaxDepth) {
        out.emplace_back();  // the end token that keeps the parser's lookahead in bounds
        out.back().column = in_.size() + 1;
        return out;
      }
    }
    if (out.back().kind == Tok::kError) {
      // The parser stops at the first error; an end token keeps lookahead in bounds.
      out.emplace_back();
      out.back().column = in_.size() + 1;
    }
    return out;
  }

 private:
  Token Next() {
    Token t;
    t.column = pos_ + 1;
    if (pos_ >= in_.size()) return t;
    const size_t start = pos_;
    const char c = in_[pos_];
    if (IsAlpha(c)) {
      while (pos_ < in_.size() && (IsAlpha(in_[pos_]) || IsDigit(in_[pos_]))) ++pos_;
      t.kind = Tok::kWord;
    } else if (c == '\'') {
      return String(t);
    } else if (IsDigit(c) || (c == '-' && pos_ + 1 < in_.size() && IsDigit(in_[pos_ + 1]))) {
      return NumberOrTimestamp(t);
    } else if (c == '?') {
      ++pos_;
      t.kind = Tok::kParam;
    } else if (c == '(' || c == ')' || c == ',') {
      ++pos_;
      t.kind = c == '(' ? Tok::kLParen : (c == ')' ? Tok::kRParen : Tok::kComma);
    } else if (c == '=') {
      ++pos_;
      t.kind = Tok::kOp;
    } else if (c == '!' && pos_ + 1 < in_.size() && in_[pos_ + 1] == '=') {
      pos_ += 2;
      t.kind = Tok::kOp;
    } else if (c == '<' || c == '>') {
      ++pos_;
      if (pos_ < in_.size() && (in_[pos_] == '=' || (c == '<' && in_[pos_] == '>'))) ++pos_;
      t.kind = Tok::kOp;
    } else {
      // Show a whole UTF-8 sequence rather than a lone lead byte.
      ++pos_;
      while (pos_ < in_.size() && (static_cast<unsigned char>(in_[pos_]) & 0xC0) == 0x80) ++pos_;
      t.kind = Tok::kOther;
    }
    t.text = in_.substr(start, pos_ - start);
    return t;
  }

  Token String(Token t) {
    const size_t start = pos_++;
    std::string s;
    for (;;) {
      if (pos_ >= in_.size()) {
        t.kind = Tok::kError;
        t.column = in_.size() + 1;
        t.error = At(t.column) + "expected closing quote for the string that starts at column " +
                  std::to_string(start + 1) + ", found end of input";
        return t;
      }
      char c = in_[pos_++];
      if (c == '\'') {
        if (pos_ < in_.size() && in_[pos_] == '\'') {
          s.push_back('\'');
          ++pos_;
          continue;
        }
        break;
      }
      s.push_back(c);
    }
    t.kind = Tok::kString;
    t.text = in_.substr(start, pos_ - start);
    t.value = Value::Text(std::move(s));
    return t;
  }

  Token NumberOrTimestamp(Token t) {
    const size_t start = pos_;
    const bool looks_like_date = in_.size() - pos_ >= 5 && IsDigit(in_[pos_]) &&
                                 IsDigit(in_[pos_ + 1]) && IsDigit(in_[pos_ + 2]) &&
                                 IsDigit(in_[pos_ + 3]) && in_[pos_ + 4] == '-';
    if (looks_like_date) {
      while (pos_ < in_.size() && (IsAlpha(in_[pos_]) || IsDigit(in_[pos_]) || in_[pos_] == ':' ||
                                   in_[pos_] == '.' || in_[pos_] == '+' || in_[pos_] == '-')) {
        ++pos_;
      }
      t.text = in_.substr(start, pos_ - start);
      int64_t micros = 0;
      Status st = ParseTimestamp(t.text, &micros);
      if (!st.ok()) {
        t.kind = Tok::kError;
        // Keep only ParseTimestamp's reason: the token is quoted already. Timestamp
        // tokens never contain a quote, so the first "': " ends the quoted part.
        const std::string& msg = st.message();
        size_t cut = msg.find("': ");
        std::string reason = cut == std::string::npos ? msg : msg.substr(cut + 3);
        t.error = At(t.column) + "expected timestamp, found " + Excerpt(t.text) + " (" +
                  reason + ")";
        return t;
      }
      t.kind = Tok::kTimestamp;
      t.value = Value::Time(micros);
      return t;
    }
    // Take the whole run of number-like characters so that "12abc" or "1.2.3" is one bad
    // number rather than a number followed by something confusing.
    ++pos_;  // digit or leading '-'
    while (pos_ < in_.size()) {
      char c = in_[pos_];
      if (IsAlpha(c) || IsDigit(c) || c == '.') {
        ++pos_;
      } else if ((c == '+' || c == '-') && (in_[pos_ - 1] == 'e' || in_[pos_ - 1] == 'E')) {
        ++pos_;
      } else {
        break;
      }
    }
    t.text = in_.substr(start, pos_ - start);
    bool is_float = false;
    if (!WellFormedNumber(t.text, &is_float)) {
      t.kind = Tok::kError;
      t.error = At(t.column) + "expected number, found " + Excerpt(t.text);
      return t;
    }
    const char* b = t.text.data();
    const char* e = b + t.text.size();
    if (is_float) {
      double v = 0;
      auto res = std::from_chars(b, e, v, std::chars_format::general);
      if (res.ec != std::errc() || res.ptr != e) {
        t.kind = Tok::kError;
        t.error = At(t.column) + "expected number within the double range, found " +
                  Excerpt(t.text);
        return t;
      }
      t.kind = Tok::kFloat;
      t.value = Value::Float(v);
    } else {
      int64_t v = 0;
      auto res = std::from_chars(b, e, v);
      if (res.ec == std::errc::result_out_of_range && *b != '-') {
        // Record ids (and versions, user ids) are unsigned 64-bit: keep the bit pattern and
        // let Bind decide whether the field takes it.
        uint64_t u = 0;
        auto wide = std::from_chars(b, e, u);
        if (wide.ec == std::errc() && wide.ptr == e) {
          t.kind = Tok::kInt;
          t.value = Value::Int(static_cast<int64_t>(u));
          t.wide = true;
          return t;
        }
      }
      if (res.ec != std::errc() || res.ptr != e) {
        t.kind = Tok::kError;
        t.error = At(t.column) + "expected number within the 64-bit integer range, found " +
                  Excerpt(t.text);
        return t;
      }
      t.kind = Tok::kInt;
      t.value = Value::Int(v);
    }
    return t;
  }

  std::string_view in_;
  size_t pos_ = 0;
};

class Parser {
 public:
  Parser(std::vector<Token> toks, const std::vector<Value>& params)
      : toks_(std::move(toks)), params_(params) {}

  Status ParseAll(std::unique_ptr<Expr>* out) {
    if (Peek().kind == Tok::kEnd) {
      out->reset();
      return UnusedParams();
    }
    COTENANT_RETURN_IF_ERROR(ParseOr(out));
    const Token& t = Peek();
    if (t.kind == Tok::kEnd) return UnusedParams();
    if (t.kind == Tok::kRParen) {
      return Unexpected(t, "AND, OR or end of input (this ')' has no matching '(')");
    }
    return Unexpected(t, "AND, OR or end of input");
  }

 private:
  const Token& Peek() const { return toks_[i_]; }
  const Token& Take() { return toks_[i_++]; }
  bool PeekKeyword(std::string_view kw) const {
    return Peek().kind == Tok::kWord && KeywordIs(Peek().text, kw);
  }

  // The one place parse errors are made, so every message has the same shape. A
  // malformed token reports its own, more precise, problem.
  static Status Unexpected(const Token& t, std::string_view what) {
    if (t.kind == Tok::kError) return Status::InvalidArgument(t.error);
    return Status::InvalidArgument(At(t.column) + "expected " + std::string(what) + ", found " +
                                   Describe(t));
  }

  Status ParseOr(std::unique_ptr<Expr>* out) {
    std::unique_ptr<Expr> first;
    COTENANT_RETURN_IF_ERROR(ParseAnd(&first));
    if (!PeekKeyword("OR")) {
      *out = std::move(first);
      return Status::OK();
    }
    auto node = std::make_unique<Expr>();
    node->kind = Expr::Kind::kOr;
    node->children.push_back(std::move(first));
    while (PeekKeyword("OR")) {
      Take();
      std::unique_ptr<Expr> next;
      COTENANT_RETURN_IF_ERROR(ParseAnd(&next));
      node->children.push_back(std::move(next));
    }
    *out = std::move(node);
    return Status::OK();
  }

  Status ParseAnd(std::unique_ptr<Expr>* out) {
    std::unique_ptr<Expr> first;
    COTENANT_RETURN_IF_ERROR(ParseNot(&first));
    if (!PeekKeyword("AND")) {
      *out = std::move(first);
      return Status::OK();
    }
    auto node = std::make_unique<Expr>();
    node->kind = Expr::Kind::kAnd;
    node->children.push_back(std::move(first));
    while (PeekKeyword("AND")) {
      Take();
      std::unique_ptr<Expr> next;
      COTENANT_RETURN_IF_ERROR(ParseNot(&next));
      node->children.push_back(std::move(next));
    }
    *out = std::move(node);
    return Status::OK();
  }

  Status Deeper(const Token& t) {
    if (++depth_ > kMaxDepth) {
      return Status::InvalidArgument(At(t.column) + "expression nested deeper than " +
                                     std::to_string(kMaxDepth) + " levels");
    }
    return Status::OK();
  }

  Status ParseNot(std::unique_ptr<Expr>* out) {
    if (PeekKeyword("NOT")) {
      const Token& t = Take();
      COTENANT_RETURN_IF_ERROR(Deeper(t));
      auto node = std::make_unique<Expr>();
      node->kind = Expr::Kind::kNot;
      node->position = t.column;
      std::unique_ptr<Expr> child;
      COTENANT_RETURN_IF_ERROR(ParseNot(&child));
      node->children.push_back(std::move(child));
      --depth_;
      *out = std::move(node);
      return Status::OK();
    }
    if (Peek().kind == Tok::kLParen) {
      const Token& open = Take();
      COTENANT_RETURN_IF_ERROR(Deeper(open));
      COTENANT_RETURN_IF_ERROR(ParseOr(out));
      if (Peek().kind != Tok::kRParen) {
        return Unexpected(Peek(), "')' to close the '(' at column " + std::to_string(open.column));
      }
      Take();
      --depth_;
      return Status::OK();
    }
    return ParsePredicate(out);
  }

  Status ParsePredicate(std::unique_ptr<Expr>* out) {
    const Token& name = Peek();
    if (name.kind != Tok::kWord || IsReserved(name.text)) {
      return Unexpected(name, "field name, NOT or '('");
    }
    Take();
    auto node = std::make_unique<Expr>();
    node->kind = Expr::Kind::kPredicate;
    node->field = std::string(name.text);
    node->position = name.column;

    const Token& op = Peek();
    if (op.kind == Tok::kOp) {
      Take();
      std::string_view s = op.text;
      node->op = s == "=" ? Op::kEq
               : (s == "!=" || s == "<>") ? Op::kNe
               : s == "<" ? Op::kLt
               : s == "<=" ? Op::kLe
               : s == ">" ? Op::kGt
               : Op::kGe;
      COTENANT_RETURN_IF_ERROR(ParseLiteral(node.get()));
    } else if (PeekKeyword("CONTAINS")) {
      Take();
      node->op = Op::kContains;
      COTENANT_RETURN_IF_ERROR(ParseText(&node->operands));
    } else if (PeekKeyword("STARTS")) {
      Take();
      if (!PeekKeyword("WITH")) return Unexpected(Peek(), "WITH after STARTS");
      Take();
      node->op = Op::kStartsWith;
      COTENANT_RETURN_IF_ERROR(ParseText(&node->operands));
    } else if (PeekKeyword("MATCHES")) {
      Take();
      node->op = Op::kMatches;
      COTENANT_RETURN_IF_ERROR(ParseText(&node->operands));
    } else if (PeekKeyword("IN")) {
      Take();
      node->op = Op::kIn;
      COTENANT_RETURN_IF_ERROR(ParseList(node.get()));
    } else if (PeekKeyword("NOT")) {
      Take();
      if (!PeekKeyword("IN")) return Unexpected(Peek(), "IN after NOT");
      Take();
      node->op = Op::kNotIn;
      COTENANT_RETURN_IF_ERROR(ParseList(node.get()));
    } else if (PeekKeyword("IS")) {
      Take();
      node->op = Op::kIsNull;
      if (PeekKeyword("NOT")) {
        Take();
        node->op = Op::kIsNotNull;
        if (!PeekKeyword("NULL")) return Unexpected(Peek(), "NULL after IS NOT");
      } else if (!PeekKeyword("NULL")) {
        return Unexpected(Peek(), "NULL or NOT NULL after IS");
      }
      Take();
    } else {
      return Unexpected(op,
                        "operator (=, !=, <>, <, <=, >, >=, CONTAINS, STARTS WITH, MATCHES, IN, "
                        "NOT IN, IS NULL, IS NOT NULL)");
    }
    *out = std::move(node);
    return Status::OK();
  }

  // Appends one literal to node->operands (and marks it in node->wide when it is one).
  Status ParseLiteral(Expr* node, std::string_view what = "literal") {
    std::vector<Value>* operands = &node->operands;
    const Token& t = Peek();
    switch (t.kind) {
      case Tok::kInt:
        if (t.wide) node->wide.push_back(operands->size());
        [[fallthrough]];
      case Tok::kString:
      case Tok::kFloat:
      case Tok::kTimestamp:
        operands->push_back(t.value);
        Take();
        return Status::OK();
      case Tok::kParam: {
        Value v;
        COTENANT_RETURN_IF_ERROR(Param(t, &v));
        operands->push_back(std::move(v));
        Take();
        return Status::OK();
      }
      case Tok::kWord:
        if (KeywordIs(t.text, "TRUE") || KeywordIs(t.text, "FALSE")) {
          operands->push_back(Value::Bool(KeywordIs(t.text, "TRUE")));
          Take();
          return Status::OK();
        }
        if (KeywordIs(t.text, "NULL")) {
          return Unexpected(t, std::string(what) + " (test for null with IS NULL)");
        }
        return Unexpected(t, std::string(what) + " (quote text as 'like this')");
      default:
        return Unexpected(t, what);
    }
  }

  // The value of the '?' at `t`, in order of appearance.
  Status Param(const Token& t, Value* out) {
    if (params_.empty()) {
      return Status::InvalidArgument(At(t.column) +
                                     "'?' stands for a bound parameter, and none were given");
    }
    if (next_param_ >= params_.size()) {
      return Status::InvalidArgument(At(t.column) + "parameter " + std::to_string(next_param_ + 1) +
                                     " has no value (" + std::to_string(params_.size()) +
                                     " given)");
    }
    const Value& v = params_[next_param_++];
    if (v.is_null()) {
      return Status::InvalidArgument(At(t.column) + "parameter " + std::to_string(next_param_) +
                                     " is null (test for null with IS NULL)");
    }
    *out = v;
    return Status::OK();
  }
  Status UnusedParams() const {
    if (next_param_ == params_.size()) return Status::OK();
    return Status::InvalidArgument("criteria: " + std::to_string(params_.size()) +
                                   " parameter(s) given, but the criteria have " +
                                   std::to_string(next_param_) + " placeholder(s) '?'");
  }

  Status ParseText(std::vector<Value>* operands) {
    const Token& t = Peek();
    if (t.kind == Tok::kParam) {
      Value v;
      COTENANT_RETURN_IF_ERROR(Param(t, &v));
      if (v.type() != FieldType::kText) {
        return Status::InvalidArgument(At(t.column) + "parameter " + std::to_string(next_param_) +
                                       " must be text here, got " +
                                       std::string(FieldTypeName(v.type())));
      }
      operands->push_back(std::move(v));
      Take();
      return Status::OK();
    }
    if (t.kind != Tok::kString) return Unexpected(t, "quoted text");
    operands->push_back(t.value);
    Take();
    return Status::OK();
  }

  Status ParseList(Expr* node) {
    if (Peek().kind != Tok::kLParen) return Unexpected(Peek(), "'(' to open the IN list");
    Take();
    if (Peek().kind == Tok::kRParen) {
      return Unexpected(Peek(), "literal (an IN list cannot be empty)");
    }
    for (;;) {
      COTENANT_RETURN_IF_ERROR(ParseLiteral(node));
      if (Peek().kind == Tok::kComma) {
        Take();
        continue;
      }
      if (Peek().kind == Tok::kRParen) {
        Take();
        return Status::OK();
      }
      return Unexpected(Peek(), "',' or ')' in the IN list");
    }
  }

  std::vector<Token> toks_;
  const std::vector<Value>& params_;
  size_t next_param_ = 0;
  size_t i_ = 0;
  int depth_ = 0;
};

}  // namespace

Status Parse(std::string_view text, std::unique_ptr<Expr>* out, const std::vector<Value>& params) {
  Parser parser(Lexer(text).Run(), params);
  std::unique_ptr<Expr> result;
  COTENANT_RETURN_IF_ERROR(parser.ParseAll(&result));
  *out = std::move(result);
  return Status::OK();
}

}  // namespace cotenant::storage::criteria
