// Tests of cotenant-import's input and row reader: CSV quoting, line ends, blank lines,
// bad rows, gzip, standard input, resume from a row's end offset, and JSON Lines.

#include "reader.h"

#include <fcntl.h>
#include <unistd.h>
#include <zlib.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace cotenant::import {
namespace {

// A fresh directory per test, removed after it.
class ReaderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/cotenant_import_reader_XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

  std::string write(const std::string& name, const std::string& content) {
    std::string path = dir_ + "/" + name;
    std::ofstream out(path, std::ios::binary);
    out.write(content.data(), static_cast<std::streamsize>(content.size()));
    EXPECT_TRUE(out.good());
    return path;
  }

  // One gzip member per part (several make a concatenated file).
  std::string writeGzip(const std::string& name, const std::vector<std::string>& parts) {
    std::string path = dir_ + "/" + name;
    std::string all;
    for (const std::string& part : parts) {
      std::string one = path + ".part";
      gzFile gz = gzopen(one.c_str(), "wb");
      EXPECT_NE(gz, nullptr);
      EXPECT_EQ(gzwrite(gz, part.data(), static_cast<unsigned>(part.size())),
                static_cast<int>(part.size()));
      EXPECT_EQ(gzclose(gz), Z_OK);
      all += slurp(one);
    }
    std::filesystem::remove(path + ".part");
    std::ofstream out(path, std::ios::binary);
    out.write(all.data(), static_cast<std::streamsize>(all.size()));
    return path;
  }

  static std::string slurp(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }

  std::string dir_;
};

ReaderOptions Csv(bool header = true, char delimiter = ',') {
  ReaderOptions o;
  o.format = Format::kCsv;
  o.header = header;
  o.delimiter = delimiter;
  return o;
}

ReaderOptions Jsonl() {
  ReaderOptions o;
  o.format = Format::kJsonl;
  return o;
}

std::vector<Row> ReadAll(RowReader* reader) {
  std::vector<Row> rows;
  Row row;
  while (reader->next(&row)) rows.push_back(row);
  return rows;
}

std::vector<Row> ReadFile(const std::string& path, const ReaderOptions& o,
                          std::vector<std::string>* columns = nullptr) {
  auto in = Input::open(path);
  RowReader reader(in.get(), o);
  if (columns != nullptr) *columns = reader.columns();
  return ReadAll(&reader);
}

using Cells = std::vector<std::string>;

TEST_F(ReaderTest, QuotedFieldsWithDelimitersAndDoubledQuotes) {
  std::string path = write("q.csv",
                           "id,name,note\n"
                           "1,\"Smith, John\",\"say \"\"hi\"\"\"\n"
                           "2,\"\",plain\n");
  std::vector<std::string> columns;
  auto rows = ReadFile(path, Csv(), &columns);
  EXPECT_EQ(columns, (Cells{"id", "name", "note"}));
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0].cells, (Cells{"1", "Smith, John", "say \"hi\""}));
  EXPECT_EQ(rows[0].text, "1,\"Smith, John\",\"say \"\"hi\"\"\"");
  EXPECT_EQ(rows[0].line, 2u);
  EXPECT_TRUE(rows[0].error.empty());
  EXPECT_EQ(rows[1].cells, (Cells{"2", "", "plain"}));
  EXPECT_EQ(rows[1].line, 3u);
}

TEST_F(ReaderTest, BlanksInCellsAreKept) {
  auto rows = ReadFile(write("s.csv", "a,b\n a , b \n"), Csv());
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].cells, (Cells{" a ", " b "}));
}

TEST_F(ReaderTest, EmbeddedNewlinesKeepLineNumbersAndText) {
  std::string content =
      "a,b\n"
      "1,\"first\nsecond\n\nfourth\"\n"
      "2,x\n"
      "3,\"y\"\n";
  auto rows = ReadFile(write("nl.csv", content), Csv());
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_EQ(rows[0].line, 2u);
  EXPECT_EQ(rows[0].cells, (Cells{"1", "first\nsecond\n\nfourth"}));
  EXPECT_EQ(rows[0].text, "1,\"first\nsecond\n\nfourth\"");
  EXPECT_EQ(rows[1].line, 6u);
  EXPECT_EQ(rows[1].text, "2,x");
  EXPECT_EQ(rows[2].line, 7u);
  EXPECT_EQ(rows[2].cells, (Cells{"3", "y"}));
  EXPECT_EQ(rows[2].end_offset, content.size());
  EXPECT_EQ(rows[0].end_offset, content.find("2,x"));
}

TEST_F(ReaderTest, CrlfLineEnds) {
  std::string content = "a,b\r\n1,2\r\n3,\"x\r\ny\"\r\n\"q\",last\r\n";
  auto rows = ReadFile(write("crlf.csv", content), Csv());
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_EQ(rows[0].cells, (Cells{"1", "2"}));
  EXPECT_EQ(rows[0].text, "1,2");
  EXPECT_EQ(rows[0].end_offset, 10u);
  // A line end inside quotes is data, CR included.
  EXPECT_EQ(rows[1].cells, (Cells{"3", "x\r\ny"}));
  EXPECT_EQ(rows[1].text, "3,\"x\r\ny\"");
  EXPECT_EQ(rows[1].line, 3u);
  EXPECT_EQ(rows[2].cells, (Cells{"q", "last"}));
  EXPECT_EQ(rows[2].line, 5u);
  EXPECT_EQ(rows[2].end_offset, content.size());
}

TEST_F(ReaderTest, ByteOrderMarkIsStrippedAtTheStartOnly) {
  std::string content = "\xEF\xBB\xBFid,name\n1,\xEF\xBB\xBFx\n";
  std::vector<std::string> columns;
  auto rows = ReadFile(write("bom.csv", content), Csv(), &columns);
  EXPECT_EQ(columns, (Cells{"id", "name"}));
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].cells, (Cells{"1", "\xEF\xBB\xBFx"}));
  EXPECT_EQ(rows[0].end_offset, content.size());  // offsets count the mark

  auto plain = ReadFile(write("bom2.csv", "\xEF\xBB\xBF" "7,8\n"), Csv(false));
  ASSERT_EQ(plain.size(), 1u);
  EXPECT_EQ(plain[0].cells, (Cells{"7", "8"}));
  EXPECT_EQ(plain[0].text, "7,8");
  EXPECT_EQ(plain[0].line, 1u);
}

TEST_F(ReaderTest, CustomDelimiters) {
  auto semi = ReadFile(write("s.csv", "a;b\n1,5;\"x;y\"\n"), Csv(true, ';'));
  ASSERT_EQ(semi.size(), 1u);
  EXPECT_EQ(semi[0].cells, (Cells{"1,5", "x;y"}));

  std::vector<std::string> columns;
  auto tab = ReadFile(write("t.tsv", "a\tb\tc\n1\t\t\"x\ty\"\n"), Csv(true, '\t'), &columns);
  EXPECT_EQ(columns, (Cells{"a", "b", "c"}));
  ASSERT_EQ(tab.size(), 1u);
  EXPECT_EQ(tab[0].cells, (Cells{"1", "", "x\ty"}));
}

TEST_F(ReaderTest, NoHeader) {
  auto in = Input::open(write("nh.csv", "1,2\n3,4,5\n"));
  RowReader reader(in.get(), Csv(false));
  EXPECT_TRUE(reader.columns().empty());
  auto rows = ReadAll(&reader);
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0].line, 1u);
  EXPECT_EQ(rows[0].cells, (Cells{"1", "2"}));
  EXPECT_EQ(rows[1].line, 2u);
  EXPECT_EQ(rows[1].cells, (Cells{"3", "4", "5"}));  // the count is the mapping's business
}

TEST_F(ReaderTest, BlankLinesAreSkipped) {
  std::string content = "a,b\n\n1,2\n\r\n\n3,4\n\n";
  auto in = Input::open(write("blank.csv", content));
  RowReader reader(in.get(), Csv());
  Row row;
  ASSERT_TRUE(reader.next(&row));
  EXPECT_EQ(row.line, 3u);
  EXPECT_EQ(row.cells, (Cells{"1", "2"}));
  EXPECT_EQ(reader.line(), 3u);
  ASSERT_TRUE(reader.next(&row));
  EXPECT_EQ(row.line, 6u);
  EXPECT_EQ(row.cells, (Cells{"3", "4"}));
  EXPECT_EQ(row.end_offset, content.size() - 1);
  EXPECT_FALSE(reader.next(&row));
  // The trailing blank line belongs to no row: a resume starts after the last one.
  EXPECT_EQ(reader.offset(), content.size() - 1);
  EXPECT_EQ(reader.line(), 6u);
}

TEST_F(ReaderTest, LastRowWithoutLineEnd) {
  std::string content = "a,b\n1,2\n3,4";
  auto in = Input::open(write("end.csv", content));
  RowReader reader(in.get(), Csv());
  auto rows = ReadAll(&reader);
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[1].cells, (Cells{"3", "4"}));
  EXPECT_EQ(rows[1].text, "3,4");
  EXPECT_EQ(rows[1].end_offset, content.size());
  EXPECT_EQ(reader.line(), 3u);
}

TEST_F(ReaderTest, UnterminatedQuoteAtTheEnd) {
  auto rows = ReadFile(write("u.csv", "a,b\n1,2\n3,\"open\nstill open"), Csv());
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_TRUE(rows[0].error.empty());
  EXPECT_EQ(rows[1].error, "unterminated quoted field");
  EXPECT_EQ(rows[1].text, "3,\"open\nstill open");
  EXPECT_EQ(rows[1].line, 3u);
  EXPECT_TRUE(rows[1].cells.empty());

  // The same with a line end last.
  auto rows2 = ReadFile(write("u2.csv", "a,b\n3,\"open\n"), Csv());
  ASSERT_EQ(rows2.size(), 1u);
  EXPECT_EQ(rows2[0].error, "unterminated quoted field");
  EXPECT_EQ(rows2[0].text, "3,\"open");
}

TEST_F(ReaderTest, MisplacedQuoteIsABadRowAndReadingGoesOn) {
  auto rows = ReadFile(write("m.csv", "a,b\n1,ab\"c\n\"x\"y,2\n3,4\n"), Csv());
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_NE(rows[0].error.find("malformed quoted field"), std::string::npos) << rows[0].error;
  EXPECT_EQ(rows[0].text, "1,ab\"c");
  EXPECT_NE(rows[1].error.find("malformed quoted field"), std::string::npos);
  EXPECT_EQ(rows[1].line, 3u);
  EXPECT_TRUE(rows[2].error.empty());
  EXPECT_EQ(rows[2].cells, (Cells{"3", "4"}));
  EXPECT_EQ(rows[2].line, 4u);
}

TEST_F(ReaderTest, TooLongRowIsCutAndTheNextRowIsRead) {
  ReaderOptions o = Csv();
  o.max_row_bytes = 16;
  std::string longRow = "2," + std::string(100, 'x');
  std::string content = "a,b\n1,short\n" + longRow + "\n3,ok\n";
  auto rows = ReadFile(write("long.csv", content), o);
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_TRUE(rows[0].error.empty());
  EXPECT_EQ(rows[1].error, "row of 102 bytes exceeds the limit of 16 bytes");
  EXPECT_EQ(rows[1].text, longRow.substr(0, 16));
  EXPECT_EQ(rows[1].line, 3u);
  EXPECT_TRUE(rows[1].cells.empty());
  EXPECT_TRUE(rows[2].error.empty());
  EXPECT_EQ(rows[2].cells, (Cells{"3", "ok"}));
  EXPECT_EQ(rows[2].line, 4u);
  EXPECT_EQ(rows[2].end_offset, content.size());
}

TEST_F(ReaderTest, RowAtTheLimitIsFineItsLineEndNotCounted) {
  ReaderOptions o = Csv(false);
  o.max_row_bytes = 8;
  auto rows = ReadFile(write("edge.csv", "1234,678\r\n1234,6789\r\n1,2\n"), o);
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_TRUE(rows[0].error.empty()) << rows[0].error;
  EXPECT_EQ(rows[0].cells, (Cells{"1234", "678"}));
  EXPECT_EQ(rows[1].error, "row of 9 bytes exceeds the limit of 8 bytes");
  EXPECT_EQ(rows[1].text, "1234,678");
  EXPECT_EQ(rows[2].cells, (Cells{"1", "2"}));
}

TEST_F(ReaderTest, HugeRowAndRunawayQuoteStayBounded) {
  ReaderOptions o = Csv(false);
  o.max_row_bytes = 1024;
  // A 5 MiB line, then an opening quote never closed over many lines: each becomes one
  // bad row cut to the limit, and reading resynchronises at the following line end.
  std::string content = "1,ok\n" + std::string(5 << 20, 'z') + "\n2,ok\n3,\"runaway\n";
  for (int i = 0; i < 200; ++i) content += "more text inside the quote\n";
  auto rows = ReadFile(write("huge.csv", content), o);
  ASSERT_GE(rows.size(), 4u);
  EXPECT_EQ(rows[0].cells, (Cells{"1", "ok"}));
  EXPECT_EQ(rows[1].error, "row of " + std::to_string(5 << 20) + " bytes exceeds the limit of 1024 bytes");
  EXPECT_EQ(rows[1].text.size(), 1024u);
  EXPECT_EQ(rows[2].cells, (Cells{"2", "ok"}));
  EXPECT_EQ(rows[2].line, 3u);
  EXPECT_NE(rows[3].error.find("exceeds the limit of 1024 bytes"), std::string::npos);
  EXPECT_EQ(rows[3].line, 4u);
  for (const Row& r : rows) EXPECT_LE(r.text.size(), 1024u);
  // After the cut, the quoted lines are read afresh as rows of one cell each.
  EXPECT_EQ(rows.back().cells, (Cells{"more text inside the quote"}));
}

TEST_F(ReaderTest, RowsAcrossChunkBoundaries) {
  // More than one 1 MiB chunk, with a CRLF split across the first boundary.
  std::string content;
  const size_t kChunk = size_t{1} << 20;
  while (content.size() < kChunk - 40) content += "12345,abcdefgh\r\n";
  std::string last = "9," + std::string(kChunk - content.size() - 3, 'q') + "\r";
  content += last + "\n";  // '\r' is the last byte of the first chunk
  ASSERT_EQ(content[kChunk - 1], '\r');
  size_t before = 0;
  for (size_t p = 0; (p = content.find('\n', p)) != std::string::npos; ++p) ++before;
  for (int i = 0; i < 50000; ++i) content += std::to_string(i) + ",\"v\"\r\n";
  auto rows = ReadFile(write("big.csv", content), Csv(false));
  ASSERT_EQ(rows.size(), before + 50000);
  EXPECT_EQ(rows[before - 1].text, last.substr(0, last.size() - 1));
  EXPECT_EQ(rows[before - 1].end_offset, kChunk + 1);
  EXPECT_EQ(rows.back().cells, (Cells{"49999", "v"}));
  EXPECT_EQ(rows.back().line, before + 50000);
  EXPECT_EQ(rows.back().end_offset, content.size());
}

TEST_F(ReaderTest, HeaderIsRequiredWhenAsked) {
  std::string empty = write("empty.csv", "");
  auto in = Input::open(empty);
  EXPECT_THROW(RowReader(in.get(), Csv()), InputError);
  auto in2 = Input::open(write("bomonly.csv", "\xEF\xBB\xBF\n\n"));
  try {
    RowReader reader(in2.get(), Csv());
    FAIL() << "no header row accepted";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("bomonly.csv"), std::string::npos) << e.what();
  }
  auto in3 = Input::open(empty);
  RowReader none(in3.get(), Csv(false));
  Row row;
  EXPECT_FALSE(none.next(&row));
  auto in4 = Input::open(write("badhead.csv", "a,\"b\n"));
  EXPECT_THROW(RowReader(in4.get(), Csv()), InputError);
}

TEST_F(ReaderTest, OpenErrorsNameTheFile) {
  try {
    Input::open(dir_ + "/missing.csv");
    FAIL() << "opened a missing file";
  } catch (const InputError& e) {
    EXPECT_EQ(std::string(e.what()), "cannot open " + dir_ + "/missing.csv: No such file or directory");
  }
  EXPECT_THROW(Input::open(dir_), InputError);
}

TEST_F(ReaderTest, PlainInputReportsSizeAndProgress) {
  std::string content = "a,b\n1,2\n";
  auto in = Input::open(write("p.csv", content));
  EXPECT_TRUE(in->resumable());
  ASSERT_TRUE(in->fileSize().has_value());
  EXPECT_EQ(*in->fileSize(), content.size());
  char buf[64];
  size_t got = 0;
  while (size_t k = in->read(buf + got, sizeof buf - got)) got += k;
  EXPECT_EQ(std::string(buf, got), content);
  EXPECT_EQ(in->fileBytesRead(), content.size());
}

TEST_F(ReaderTest, GzipInput) {
  std::string content = "id,name\n1,\"a\nb\"\n2,c\n";
  std::string path = writeGzip("data.csv.gz", {content});
  auto in = Input::open(path);
  RowReader reader(in.get(), Csv());
  EXPECT_EQ(reader.columns(), (Cells{"id", "name"}));
  auto rows = ReadAll(&reader);
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0].cells, (Cells{"1", "a\nb"}));
  EXPECT_EQ(rows[1].cells, (Cells{"2", "c"}));
  EXPECT_EQ(rows[1].line, 4u);
  EXPECT_EQ(rows[1].end_offset, content.size());  // offsets are in the content
  // Progress counts the compressed bytes.
  EXPECT_EQ(in->fileBytesRead(), std::filesystem::file_size(path));
  EXPECT_EQ(*in->fileSize(), std::filesystem::file_size(path));

  // Not told by the name: a gzip file called .csv is still inflated.
  auto rows2 = ReadFile(writeGzip("plain-name.csv", {content}), Csv());
  EXPECT_EQ(rows2.size(), 2u);
}

TEST_F(ReaderTest, ConcatenatedGzipMembers) {
  std::string path = writeGzip("cat.csv.gz", {"a,b\n1,2\n", "3,4\n", "5,6\n"});
  auto rows = ReadFile(path, Csv());
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_EQ(rows[2].cells, (Cells{"5", "6"}));
  EXPECT_EQ(rows[2].line, 4u);
}

TEST_F(ReaderTest, TruncatedOrCorruptGzipIsAnInputError) {
  std::string content = "a,b\n";
  for (int i = 0; i < 20000; ++i) content += std::to_string(i * 7919) + ",row " + std::to_string(i) + "\n";
  std::string whole = slurp(writeGzip("whole.csv.gz", {content}));
  std::string truncated = write("cut.csv.gz", whole.substr(0, whole.size() / 2));
  try {
    ReadFile(truncated, Csv());
    FAIL() << "a truncated gzip file read to its end";
  } catch (const InputError& e) {
    std::string what = e.what();
    EXPECT_NE(what.find("cut.csv.gz"), std::string::npos) << what;
    EXPECT_NE(what.find("truncated"), std::string::npos) << what;
  }
  // Cut within the trailer (CRC and length): also an error, not a quiet end.
  EXPECT_THROW(ReadFile(write("cut2.csv.gz", whole.substr(0, whole.size() - 3)), Csv()), InputError);

  std::string corrupt = whole;
  for (size_t i = corrupt.size() / 3; i < corrupt.size() / 3 + 64; ++i) corrupt[i] = static_cast<char>(~corrupt[i]);
  try {
    ReadFile(write("bad.csv.gz", corrupt), Csv());
    FAIL() << "a corrupt gzip file read to its end";
  } catch (const InputError& e) {
    std::string what = e.what();
    EXPECT_NE(what.find("bad.csv.gz"), std::string::npos) << what;
    EXPECT_NE(what.find("corrupt gzip data: "), std::string::npos) << what;
  }
}

// A file with everything that makes offsets and lines tricky.
const char kTricky[] =
    "\xEF\xBB\xBF" "id,text\r\n"
    "1,plain\r\n"
    "\r\n"
    "2,\"two\nlines\"\n"
    "3,\"quoted, \"\"comma\"\"\"\n"
    "\n\n"
    "4,\"a\r\n\r\nb\"\r\n"
    "5,bad\"quote\n"
    "6,last";

void ExpectSameRows(const std::vector<Row>& got, const std::vector<Row>& want, size_t from) {
  ASSERT_EQ(got.size(), want.size() - from);
  for (size_t i = 0; i < got.size(); ++i) {
    EXPECT_EQ(got[i].line, want[from + i].line) << "row " << from + i;
    EXPECT_EQ(got[i].text, want[from + i].text) << "row " << from + i;
    EXPECT_EQ(got[i].cells, want[from + i].cells) << "row " << from + i;
    EXPECT_EQ(got[i].error, want[from + i].error) << "row " << from + i;
    EXPECT_EQ(got[i].end_offset, want[from + i].end_offset) << "row " << from + i;
  }
}

TEST_F(ReaderTest, ResumeFromARowsEndOffset) {
  for (bool gzip : {false, true}) {
    SCOPED_TRACE(gzip ? "gzip" : "plain");
    std::string path = gzip ? writeGzip("tricky.csv.gz", {kTricky}) : write("tricky.csv", kTricky);
    std::vector<Row> all;
    std::vector<uint64_t> lineAfter;
    {
      auto in = Input::open(path);
      RowReader reader(in.get(), Csv());
      EXPECT_EQ(reader.offset(), 0u);
      Row row;
      while (reader.next(&row)) {
        EXPECT_EQ(reader.offset(), row.end_offset);
        all.push_back(row);
        lineAfter.push_back(reader.line());
      }
    }
    ASSERT_EQ(all.size(), 6u);
    EXPECT_EQ(all[0].line, 2u);
    EXPECT_EQ(all[1].line, 4u);
    EXPECT_EQ(all[2].line, 6u);
    EXPECT_EQ(all[3].line, 9u);
    EXPECT_EQ(all[3].cells, (Cells{"4", "a\r\n\r\nb"}));
    EXPECT_FALSE(all[4].error.empty());
    EXPECT_EQ(all[5].line, 13u);
    EXPECT_EQ(all[5].end_offset, sizeof kTricky - 1);

    for (size_t k = 0; k < all.size(); ++k) {
      SCOPED_TRACE("after row " + std::to_string(k));
      auto in = Input::open(path);
      RowReader reader(in.get(), Csv(), all[k].end_offset, lineAfter[k]);
      EXPECT_EQ(reader.columns(), (Cells{"id", "text"}));
      EXPECT_EQ(reader.offset(), all[k].end_offset);
      ExpectSameRows(ReadAll(&reader), all, k + 1);
    }
  }
}

// Far enough in that the reader no longer holds the offset: a plain file seeks there, a
// gzip one is inflated up to it.
TEST_F(ReaderTest, ResumeBeyondTheFirstChunk) {
  std::string content = "n,v\n";
  for (int i = 0; content.size() < (5u << 19); ++i) content += std::to_string(i) + ",\"x\ny\"\n";
  for (bool gzip : {false, true}) {
    SCOPED_TRACE(gzip ? "gzip" : "plain");
    std::string path = gzip ? writeGzip("far.csv.gz", {content}) : write("far.csv", content);
    std::vector<Row> all;
    size_t k = 0;
    uint64_t lineAfter = 0;
    {
      auto in = Input::open(path);
      RowReader reader(in.get(), Csv());
      Row row;
      while (reader.next(&row)) {
        all.push_back(row);
        if (k == 0 && row.end_offset > (3u << 19)) {
          k = all.size() - 1;
          lineAfter = reader.line();
        }
      }
    }
    ASSERT_GT(k, 0u);
    EXPECT_EQ(lineAfter, 1 + 2 * (k + 1));
    auto in = Input::open(path);
    RowReader reader(in.get(), Csv(), all[k].end_offset, lineAfter);
    if (!gzip) {
      EXPECT_EQ(in->fileBytesRead(), all[k].end_offset);  // seeked, not read
    }
    ExpectSameRows(ReadAll(&reader), all, k + 1);
  }
}

TEST_F(ReaderTest, ResumePastTheEndIsAnInputError) {
  std::string path = write("short.csv", "a\n1\n");
  auto in = Input::open(path);
  EXPECT_THROW(RowReader(in.get(), Csv(), 100, 5), InputError);
  std::string gz = writeGzip("short.csv.gz", {"a\n1\n"});
  auto in2 = Input::open(gz);
  EXPECT_THROW(RowReader(in2.get(), Csv(false), 100, 5), InputError);
}

TEST_F(ReaderTest, ResumeJsonLines) {
  std::string content = "{\"a\":1}\n\n{\"a\":2}\r\n  \n{\"a\":3}\n";
  std::string path = write("r.jsonl", content);
  auto in = Input::open(path);
  RowReader first(in.get(), Jsonl());
  Row row;
  ASSERT_TRUE(first.next(&row));
  ASSERT_TRUE(first.next(&row));
  EXPECT_EQ(row.line, 3u);
  auto in2 = Input::open(path);
  RowReader second(in2.get(), Jsonl(), first.offset(), first.line());
  ASSERT_TRUE(second.next(&row));
  EXPECT_EQ(row.object["a"], 3);
  EXPECT_EQ(row.line, 5u);
  EXPECT_FALSE(second.next(&row));
}

// Standard input through a pipe: not resumable, no size, skipping reads and discards.
TEST_F(ReaderTest, StandardInputPipe) {
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  std::string content = "a,b\n1,2\n3,4\n";
  ASSERT_EQ(::write(fds[1], content.data(), content.size()), static_cast<ssize_t>(content.size()));
  ::close(fds[1]);
  int saved = ::dup(0);
  ASSERT_GE(saved, 0);
  ASSERT_EQ(::dup2(fds[0], 0), 0);
  ::close(fds[0]);
  {
    auto in = Input::open("-");
    EXPECT_EQ(in->name(), "-");
    EXPECT_FALSE(in->resumable());
    EXPECT_FALSE(in->fileSize().has_value());
    RowReader reader(in.get(), Csv(false), 8, 2);  // past "a,b" and "1,2": read and dropped
    auto rows = ReadAll(&reader);
    ASSERT_EQ(rows.size(), 1u);
    EXPECT_EQ(rows[0].cells, (Cells{"3", "4"}));
    EXPECT_EQ(rows[0].line, 3u);
  }
  ASSERT_EQ(::dup2(saved, 0), 0);
  ::close(saved);
}

TEST_F(ReaderTest, JsonLines) {
  std::string content =
      "\xEF\xBB\xBF{\"id\":1,\"name\":\"a\"}\n"
      "\n"
      "   \t\n"
      "{\"id\":2}\r\n"
      "{\"id\":\n"
      "[1,2]\n"
      "42\n"
      "{\"id\":3} trailing\n"
      "{\"last\":true}";
  auto rows = ReadFile(write("d.jsonl", content), Jsonl());
  ASSERT_EQ(rows.size(), 7u);
  EXPECT_TRUE(rows[0].error.empty());
  EXPECT_EQ(rows[0].object["name"], "a");
  EXPECT_EQ(rows[0].line, 1u);
  EXPECT_EQ(rows[0].text, "{\"id\":1,\"name\":\"a\"}");
  EXPECT_EQ(rows[1].line, 4u);
  EXPECT_EQ(rows[1].text, "{\"id\":2}");
  EXPECT_EQ(rows[1].object["id"], 2);
  EXPECT_EQ(rows[2].line, 5u);
  EXPECT_EQ(rows[2].error.rfind("invalid JSON: ", 0), 0u) << rows[2].error;
  EXPECT_EQ(rows[2].error.find("[json.exception"), std::string::npos) << rows[2].error;
  EXPECT_EQ(rows[3].error, "a JSON Lines row must be an object");
  EXPECT_EQ(rows[3].text, "[1,2]");
  EXPECT_EQ(rows[4].error, "a JSON Lines row must be an object");
  EXPECT_EQ(rows[5].line, 8u);
  EXPECT_EQ(rows[5].error.rfind("invalid JSON: ", 0), 0u);
  // The text of a bad row is kept for the reject file.
  EXPECT_EQ(rows[5].text, "{\"id\":3} trailing");
  // A last line without a line end is a row too.
  EXPECT_TRUE(rows[6].error.empty());
  EXPECT_EQ(rows[6].object["last"], true);
  EXPECT_EQ(rows[6].line, 9u);
  EXPECT_EQ(rows[6].end_offset, content.size());
}

TEST_F(ReaderTest, JsonLinesLastRowAndLongRow) {
  ReaderOptions o = Jsonl();
  o.max_row_bytes = 20;
  std::string content = "{\"text\":\"" + std::string(50, 'x') + "\"}\n{\"ok\":1}";
  auto rows = ReadFile(write("l.jsonl", content), o);
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0].error, "row of 61 bytes exceeds the limit of 20 bytes");
  EXPECT_EQ(rows[0].text.size(), 20u);
  EXPECT_TRUE(rows[1].error.empty());
  EXPECT_EQ(rows[1].object["ok"], 1);
  EXPECT_EQ(rows[1].line, 2u);
  EXPECT_EQ(rows[1].end_offset, content.size());
}

}  // namespace
}  // namespace cotenant::import
