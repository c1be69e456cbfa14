// Tests of cotenant-import's mapping: columns to fields (header, --map, --skip, no
// header, JSON keys) and the coercion of every field type, good values and bad.

#include "mapping.h"

#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace cotenant::import {
namespace {

using Cells = std::vector<std::string>;

std::vector<FieldDef> Fields() {
  return {
      {"id", FieldType::Int, true, true},
      {"name", FieldType::Text, false, false},
      {"score", FieldType::Float, false, false},
      {"active", FieldType::Bool, false, false},
      {"at", FieldType::Timestamp, false, false},
  };
}

Row CsvRow(Cells cells) {
  Row row;
  row.cells = std::move(cells);
  return row;
}

Row JsonRow(const std::string& text) {
  Row row;
  row.object = nlohmann::json::parse(text);
  return row;
}

// A mapping with one column per field, named after it.
Mapping Plain() {
  return Mapping(Fields(), {"id", "name", "score", "active", "at"}, {}, Format::kCsv);
}

// Converts one cell of field `column` (the others empty); the value, or nullptr with
// *why filled.
const Value* One(const Mapping& m, const std::string& column, const std::string& cell,
                 Parameters* p, Rejection* why) {
  Cells cells = {"", "", "", "", ""};
  const Cells names = {"id", "name", "score", "active", "at"};
  for (size_t i = 0; i < names.size(); ++i) {
    if (names[i] == column) cells[i] = cell;
  }
  if (!m.convert(CsvRow(cells), p, why)) return nullptr;
  return p->find(column);
}

TEST(MappingCsv, EveryTypeGood) {
  Mapping m = Plain();
  Parameters p;
  Rejection why;
  ASSERT_TRUE(m.convert(CsvRow({"-42", "Zoë", "1.5", "Yes", "2024-05-01"}), &p, &why)) << why.reason;
  ASSERT_NE(p.find("id"), nullptr);
  EXPECT_EQ(p.find("id")->asInt(), -42);
  EXPECT_EQ(p.find("name")->asText(), "Zoë");
  EXPECT_EQ(p.find("score")->asFloat(), 1.5);
  EXPECT_TRUE(p.find("active")->asBool());
  EXPECT_EQ(p.find("at")->type(), Value::Type::Timestamp);
  EXPECT_EQ(p.find("at")->asTimestamp(), 1714521600000000);
}

TEST(MappingCsv, EmptyCellIsNull) {
  Mapping m = Plain();
  Parameters p;
  Rejection why;
  ASSERT_TRUE(m.convert(CsvRow({"1", "", "", "", ""}), &p, &why));
  ASSERT_NE(p.find("name"), nullptr);
  EXPECT_TRUE(p.find("name")->isNull());
  EXPECT_TRUE(p.find("at")->isNull());
  EXPECT_EQ(p.size(), 5u);
}

TEST(MappingCsv, Integers) {
  Mapping m = Plain();
  struct Good { const char* text; int64_t value; };
  for (Good g : {Good{"0", 0}, Good{"+7", 7}, Good{"-0", 0}, Good{"9223372036854775807", INT64_MAX},
                 Good{"-9223372036854775808", INT64_MIN}, Good{"007", 7}}) {
    Parameters p;
    Rejection why;
    const Value* v = One(m, "id", g.text, &p, &why);
    ASSERT_NE(v, nullptr) << g.text << ": " << why.reason;
    EXPECT_EQ(v->asInt(), g.value) << g.text;
  }
  for (const char* bad : {"abc", "1.5", " 1", "1 ", "0x10", "+-1", "-", "+", "1e3", "--1", "١"}) {
    Parameters p;
    Rejection why;
    EXPECT_EQ(One(m, "id", bad, &p, &why), nullptr) << bad;
    EXPECT_EQ(why.column, "id");
    EXPECT_EQ(why.reason, std::string("not an integer: '") + bad + "'");
  }
  for (const char* big : {"9223372036854775808", "-9223372036854775809", "123456789012345678901234"}) {
    Parameters p;
    Rejection why;
    EXPECT_EQ(One(m, "id", big, &p, &why), nullptr) << big;
    EXPECT_EQ(why.reason, std::string("integer out of range: '") + big + "'");
  }
}

TEST(MappingCsv, Floats) {
  Mapping m = Plain();
  struct Good { const char* text; double value; };
  for (Good g : {Good{"1.5", 1.5}, Good{"-2", -2}, Good{"1e3", 1000}, Good{"+0.25", 0.25},
                 Good{".5", 0.5}, Good{"2.", 2}, Good{"-1.25E-2", -0.0125}}) {
    Parameters p;
    Rejection why;
    const Value* v = One(m, "score", g.text, &p, &why);
    ASSERT_NE(v, nullptr) << g.text << ": " << why.reason;
    EXPECT_EQ(v->asFloat(), g.value) << g.text;
  }
  for (const char* bad : {"abc", "nan", "inf", "-inf", "1,5", " 1", "1 ", "0x1p3", "1e", "+-1", "."}) {
    Parameters p;
    Rejection why;
    EXPECT_EQ(One(m, "score", bad, &p, &why), nullptr) << bad;
    EXPECT_EQ(why.column, "score");
    EXPECT_EQ(why.reason, std::string("not a number: '") + bad + "'");
  }
  Parameters p;
  Rejection why;
  EXPECT_EQ(One(m, "score", "1e999", &p, &why), nullptr);
  EXPECT_EQ(why.reason, "number out of range: '1e999'");
}

TEST(MappingCsv, Booleans) {
  Mapping m = Plain();
  for (const char* yes : {"true", "TRUE", "t", "T", "yes", "Yes", "y", "Y", "1"}) {
    Parameters p;
    Rejection why;
    const Value* v = One(m, "active", yes, &p, &why);
    ASSERT_NE(v, nullptr) << yes;
    EXPECT_TRUE(v->asBool()) << yes;
  }
  for (const char* no : {"false", "False", "f", "F", "no", "NO", "n", "N", "0"}) {
    Parameters p;
    Rejection why;
    const Value* v = One(m, "active", no, &p, &why);
    ASSERT_NE(v, nullptr) << no;
    EXPECT_FALSE(v->asBool()) << no;
  }
  for (const char* bad : {"maybe", "2", "truee", "on", " yes", "tru"}) {
    Parameters p;
    Rejection why;
    EXPECT_EQ(One(m, "active", bad, &p, &why), nullptr) << bad;
    EXPECT_EQ(why.column, "active");
    EXPECT_EQ(why.reason, std::string("not a boolean (true/false, yes/no, 1/0): '") + bad + "'");
  }
}

TEST(MappingCsv, Timestamps) {
  Mapping m = Plain();
  struct Good { const char* text; int64_t micros; };
  for (Good g : {Good{"2024-05-01", 1714521600000000}, Good{"2024-05-01 12:00", 1714564800000000},
                 Good{"2024-05-01T12:00:00.5+02:00", 1714557600500000},
                 Good{"2024-05-01T12:00:00Z", 1714564800000000}}) {
    Parameters p;
    Rejection why;
    const Value* v = One(m, "at", g.text, &p, &why);
    ASSERT_NE(v, nullptr) << g.text << ": " << why.reason;
    EXPECT_EQ(v->asTimestamp(), g.micros) << g.text;
  }
  Parameters p;
  Rejection why;
  EXPECT_EQ(One(m, "at", "2024-13-01", &p, &why), nullptr);
  EXPECT_EQ(why.column, "at");
  EXPECT_EQ(why.reason, "invalid timestamp '2024-13-01': month out of range 01..12");
  EXPECT_EQ(One(m, "at", "yesterday", &p, &why), nullptr);
  EXPECT_NE(why.reason.find("'yesterday'"), std::string::npos) << why.reason;
  std::string huge(500, '9');
  EXPECT_EQ(One(m, "at", huge, &p, &why), nullptr);
  EXPECT_EQ(why.reason, "invalid timestamp '" + std::string(64, '9') + "...': too long");
}

TEST(MappingCsv, TextMustBeUtf8) {
  Mapping m = Plain();
  Parameters p;
  Rejection why;
  EXPECT_EQ(One(m, "name", "ok\xff", &p, &why), nullptr);
  EXPECT_EQ(why.column, "name");
  EXPECT_EQ(why.reason, "not valid UTF-8 (byte 2)");
  const Value* v = One(m, "name", "  spaced  ", &p, &why);
  ASSERT_NE(v, nullptr);
  EXPECT_EQ(v->asText(), "  spaced  ");  // as is
}

TEST(MappingCsv, LongValuesAreQuotedCut) {
  Mapping m = Plain();
  Parameters p;
  Rejection why;
  EXPECT_EQ(One(m, "id", std::string(200, 'x'), &p, &why), nullptr);
  EXPECT_EQ(why.reason, "not an integer: '" + std::string(64, 'x') + "...'");
  // Not inside a UTF-8 sequence: 63 bytes, then a 2-byte letter across the cut.
  EXPECT_EQ(One(m, "id", std::string(63, 'x') + "éééé", &p, &why), nullptr);
  EXPECT_EQ(why.reason, "not an integer: '" + std::string(63, 'x') + "...'");
}

TEST(MappingCsv, HeaderCellCountMustMatch) {
  Mapping m = Plain();
  Parameters p;
  Rejection why;
  EXPECT_FALSE(m.convert(CsvRow({"1", "a", "2", "t", "2024-05-01", "extra"}), &p, &why));
  EXPECT_EQ(why.column, "");
  EXPECT_EQ(why.reason, "row has 6 cells; the header has 5 columns");
  EXPECT_FALSE(m.convert(CsvRow({"1"}), &p, &why));
  EXPECT_EQ(why.reason, "row has 1 cell; the header has 5 columns");
}

TEST(MappingCsv, RenamesAndSkips) {
  MappingOptions o;
  o.renames = {{"ident", "id"}, {"full name", "name"}};
  o.skipped = {"junk"};
  Mapping m(Fields(), {"junk", "ident", "full name", "at"}, o, Format::kCsv);
  Parameters p;
  Rejection why;
  ASSERT_TRUE(m.convert(CsvRow({"ignored", "5", "Ann", "2024-05-01"}), &p, &why)) << why.reason;
  EXPECT_EQ(p.size(), 3u);
  EXPECT_EQ(p.find("id")->asInt(), 5);
  EXPECT_EQ(p.find("name")->asText(), "Ann");
  EXPECT_EQ(p.find("junk"), nullptr);
  EXPECT_EQ(p.find("ident"), nullptr);
  EXPECT_EQ(p.find("score"), nullptr);  // no column: not set
  // A rejection names the column as the header does.
  Parameters p2;
  EXPECT_FALSE(m.convert(CsvRow({"", "five", "Ann", ""}), &p2, &why));
  EXPECT_EQ(why.column, "ident");
  EXPECT_EQ(why.reason, "not an integer: 'five'");
}

std::string MappingErrorOf(std::vector<std::string> columns, MappingOptions o = {},
                           Format format = Format::kCsv) {
  try {
    Mapping m(Fields(), std::move(columns), o, format);
  } catch (const MappingError& e) {
    return e.what();
  }
  return "";
}

TEST(MappingCsv, UnknownColumnSaysWhatToDo) {
  EXPECT_EQ(MappingErrorOf({"id", "foo"}),
            "column 'foo' is not a field of the object (fields: id, name, score, active, at); "
            "use --skip foo or --map foo=FIELD");
  // Names are compared as they are: no trimming, no case folding.
  EXPECT_NE(MappingErrorOf({"id", " name"}).find("column ' name' is not a field"), std::string::npos);
  EXPECT_NE(MappingErrorOf({"ID"}).find("column 'ID' is not a field"), std::string::npos);
}

TEST(MappingCsv, BadHeadersAndOptions) {
  EXPECT_EQ(MappingErrorOf({"id", "name", "id"}),
            "column 'id' appears twice in the header (columns 1 and 3)");
  MappingOptions onto_taken;
  onto_taken.renames = {{"other", "name"}};
  EXPECT_EQ(MappingErrorOf({"name", "other"}, onto_taken),
            "columns 'name' and 'other' both fill field 'name'; --skip one of them or --map it "
            "to another field");
  MappingOptions to_nothing;
  to_nothing.renames = {{"id", "nope"}};
  EXPECT_EQ(MappingErrorOf({"id"}, to_nothing),
            "--map id=nope: the object has no field 'nope' (fields: id, name, score, active, at)");
  MappingOptions missing_map;
  missing_map.renames = {{"ghost", "id"}};
  EXPECT_EQ(MappingErrorOf({"name"}, missing_map),
            "--map ghost: the header has no column 'ghost' (columns: name)");
  MappingOptions missing_skip;
  missing_skip.skipped = {"ghost"};
  EXPECT_EQ(MappingErrorOf({"name"}, missing_skip),
            "--skip ghost: the header has no column 'ghost' (columns: name)");
  MappingOptions both;
  both.renames = {{"x", "id"}};
  both.skipped = {"x"};
  EXPECT_NE(MappingErrorOf({"x"}, both).find("both --map and --skip"), std::string::npos);
  MappingOptions two_maps;
  two_maps.renames = {{"a", "id"}, {"b", "id"}};
  EXPECT_EQ(MappingErrorOf({"a", "b"}, two_maps),
            "--map a=id and --map b=id both fill field 'id'");
  // A good mapping throws nothing.
  EXPECT_EQ(MappingErrorOf({"name", "id"}), "");
}

TEST(MappingCsv, NoHeaderUsesTheFieldsInOrder) {
  Mapping m(Fields(), {}, {}, Format::kCsv);
  Parameters p;
  Rejection why;
  ASSERT_TRUE(m.convert(CsvRow({"3", "Bo"}), &p, &why));
  EXPECT_EQ(p.size(), 2u);  // the rest are not set
  EXPECT_EQ(p.find("id")->asInt(), 3);
  EXPECT_EQ(p.find("name")->asText(), "Bo");
  EXPECT_EQ(p.find("score"), nullptr);
  Parameters p2;
  EXPECT_FALSE(m.convert(CsvRow({"1", "a", "2", "t", "2024-05-01", "x"}), &p2, &why));
  EXPECT_EQ(why.column, "");
  EXPECT_EQ(why.reason, "row has 6 cells; the object has 5 fields");
  Parameters p3;
  EXPECT_FALSE(m.convert(CsvRow({"1", "a", "high"}), &p3, &why));
  EXPECT_EQ(why.column, "score");
  EXPECT_EQ(why.reason, "not a number: 'high'");

  // --skip names a position by its field.
  MappingOptions o;
  o.skipped = {"name"};
  Mapping skipping(Fields(), {}, o, Format::kCsv);
  Parameters p4;
  ASSERT_TRUE(skipping.convert(CsvRow({"1", "whatever", "2.5"}), &p4, &why));
  EXPECT_EQ(p4.find("name"), nullptr);
  EXPECT_EQ(p4.find("score")->asFloat(), 2.5);
  MappingOptions ghost;
  ghost.skipped = {"ghost"};
  EXPECT_NE(MappingErrorOf({}, ghost).find("--skip ghost: there is no column 'ghost'"), std::string::npos);
}

TEST(MappingJson, EveryTypeGood) {
  Mapping m(Fields(), {}, {}, Format::kJsonl);
  Parameters p;
  Rejection why;
  ASSERT_TRUE(m.convert(JsonRow(R"({"id": 7, "name": "x", "score": 2, "active": false,
                                    "at": "2024-05-01T12:00:00Z"})"),
                        &p, &why))
      << why.reason;
  EXPECT_EQ(p.find("id")->asInt(), 7);
  EXPECT_EQ(p.find("name")->asText(), "x");
  EXPECT_EQ(p.find("score")->asFloat(), 2.0);
  EXPECT_FALSE(p.find("active")->asBool());
  EXPECT_EQ(p.find("at")->asTimestamp(), 1714564800000000);

  Parameters q;
  ASSERT_TRUE(m.convert(JsonRow(R"({"id": 4.0, "name": 1.5, "at": 1714521600000000,
                                    "active": null})"),
                        &q, &why))
      << why.reason;
  EXPECT_EQ(q.find("id")->asInt(), 4);
  EXPECT_EQ(q.find("name")->asText(), "1.5");  // a number as its JSON text
  EXPECT_EQ(q.find("at")->asTimestamp(), 1714521600000000);
  EXPECT_TRUE(q.find("active")->isNull());
  EXPECT_EQ(q.find("score"), nullptr);

  Parameters r;
  ASSERT_TRUE(m.convert(JsonRow(R"({"name": true})"), &r, &why));
  EXPECT_EQ(r.find("name")->asText(), "true");
}

std::string JsonReason(const std::string& text, std::string* column = nullptr) {
  Mapping m(Fields(), {}, {}, Format::kJsonl);
  Parameters p;
  Rejection why;
  if (m.convert(JsonRow(text), &p, &why)) return "";
  if (column != nullptr) *column = why.column;
  return why.reason;
}

TEST(MappingJson, WrongKindsAreRejectedNamingTheField) {
  std::string column;
  EXPECT_EQ(JsonReason(R"({"id": "42"})", &column), "int field 'id' cannot take a JSON string: '\"42\"'");
  EXPECT_EQ(column, "id");
  EXPECT_EQ(JsonReason(R"({"id": 1.5})"), "not an integer: '1.5'");
  EXPECT_EQ(JsonReason(R"({"id": 9223372036854775808})"), "integer out of range: '9223372036854775808'");
  EXPECT_EQ(JsonReason(R"({"id": 1e30})"), "integer out of range: '1e+30'");
  EXPECT_EQ(JsonReason(R"({"score": "1.5"})"), "float field 'score' cannot take a JSON string: '\"1.5\"'");
  EXPECT_EQ(JsonReason(R"({"active": 1})"), "bool field 'active' cannot take a JSON number: '1'");
  EXPECT_EQ(JsonReason(R"({"at": 1.5})"), "timestamp field 'at' cannot take a JSON number: '1.5'");
  EXPECT_EQ(JsonReason(R"({"at": "2024-02-30"})"),
            "invalid timestamp '2024-02-30': day out of range for the month");
  EXPECT_EQ(JsonReason(R"({"name": [1, 2]})", &column), "text field 'name' cannot take a JSON array: '[1,2]'");
  EXPECT_EQ(column, "name");
  EXPECT_EQ(JsonReason(R"({"name": {"a": 1}})"),
            "text field 'name' cannot take a JSON object: '{\"a\":1}'");
  EXPECT_EQ(JsonReason(R"({"id": [1]})"), "int field 'id' cannot take a JSON array: '[1]'");
}

TEST(MappingJson, KeysResolvedPerRow) {
  std::string column;
  EXPECT_EQ(JsonReason(R"({"id": 1, "color": "red"})", &column), "not a field of the object");
  EXPECT_EQ(column, "color");

  MappingOptions o;
  o.renames = {{"ident", "id"}};
  o.skipped = {"color"};
  Mapping m(Fields(), {}, o, Format::kJsonl);
  Parameters p;
  Rejection why;
  ASSERT_TRUE(m.convert(JsonRow(R"({"ident": 9, "color": [1, {}]})"), &p, &why)) << why.reason;
  EXPECT_EQ(p.size(), 1u);
  EXPECT_EQ(p.find("id")->asInt(), 9);
  // Two keys onto one field in the same row.
  Parameters q;
  EXPECT_FALSE(m.convert(JsonRow(R"({"ident": 9, "id": 10})"), &q, &why));
  EXPECT_EQ(why.column, "ident");
  EXPECT_EQ(why.reason, "field 'id' is already given by key 'id'");

  // --map must still name a field; the columns are not known in advance.
  MappingOptions bad;
  bad.renames = {{"x", "nope"}};
  EXPECT_NE(MappingErrorOf({}, bad, Format::kJsonl).find("the object has no field 'nope'"),
            std::string::npos);
  MappingOptions unknown_skip;
  unknown_skip.skipped = {"anything"};
  EXPECT_EQ(MappingErrorOf({}, unknown_skip, Format::kJsonl), "");
}

}  // namespace
}  // namespace cotenant::import
