// cotenant-import: turning rows into record values (docs/IMPORT.md, "Columns and values").
//
// Columns go to the object's fields by name (a CSV header, or a JSON object's keys),
// unless --map COLUMN=FIELD renames one or --skip COLUMN leaves it out. A column that
// is neither a field nor skipped is an error before anything is imported (CSV) or a bad
// row (a JSON key). Values are coerced by the field's declared type:
//   text       as is (a JSON number or bool becomes its JSON text)
//   int        a decimal integer ("-42"; JSON: an integral number)
//   float      a decimal number ("1.5", "1e3"; NaN and infinities refused)
//   bool       true/false, t/f, yes/no, y/n, 1/0 (any case)
//   timestamp  ISO-8601 as the CLI reads it ("2024-05-01", "2024-05-01 12:00",
//              "2024-05-01T12:00:00.5+02:00"; no zone = UTC), or a JSON integer of
//              microseconds since the epoch
// An empty CSV cell and a JSON null are null (a required field then fails on the server
// like any other add). Without a CSV header, columns are the object's fields in
// declaration order (a row with more cells is a bad row; fewer leave the rest null).
//
// Thread safety: a Mapping is immutable once made; convert() may run on many threads.

#ifndef COTENANT_TOOLS_COTENANT_IMPORT_MAPPING_H_
#define COTENANT_TOOLS_COTENANT_IMPORT_MAPPING_H_

#include <map>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include "cotenant/client.h"
#include "reader.h"

namespace cotenant::import {

// A mapping that cannot work (an unknown column, a --map to an unknown field, two
// columns on one field). The message names the column or field and what to do.
class MappingError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct MappingOptions {
  std::map<std::string, std::string> renames;  // --map COLUMN=FIELD
  std::set<std::string> skipped;               // --skip COLUMN
};

// Why a row cannot become a record: the column (empty for the row as a whole) and the
// reason ("not an integer: 'abc'").
struct Rejection {
  std::string column;
  std::string reason;
};

class Mapping {
 public:
  // `fields`: the object's fields as the importing user sees them. `columns`: the CSV
  // header (empty for CSV without a header, and for JSONL). Throws MappingError.
  Mapping(std::vector<FieldDef> fields, std::vector<std::string> columns,
          const MappingOptions& options, Format format);

  // The row's values, or false with *why filled. REQUIRES: row.error is empty.
  bool convert(const Row& row, Parameters* out, Rejection* why) const;

 private:
  std::vector<FieldDef> fields_;
  std::vector<std::string> columns_;
  MappingOptions options_;
  Format format_;
  // CSV: per column position, the index into fields_, or -1 when skipped.
  std::vector<int> slot_of_column_;
};

}  // namespace cotenant::import

#endif  // COTENANT_TOOLS_COTENANT_IMPORT_MAPPING_H_
