#include "http/multipart.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace dvs::http {
namespace {

constexpr std::string_view kBoundary = "----dvsBoundary7MA4YWxk";

struct Part {
  std::string name;
  std::optional<std::string> filename;
  std::string content_type;
  std::string data;
  bool ended = false;
  bool operator==(const Part&) const = default;
};

std::ostream& operator<<(std::ostream& out, const Part& part) {
  return out << "{" << part.name << ", " << part.filename.value_or("<none>") << ", "
             << part.content_type << ", " << part.data.size() << " bytes, ended=" << part.ended
             << "}";
}

// Collects what the parser reports; data of one part is concatenated.
class Recorder {
 public:
  MultipartParser::Callbacks Callbacks() {
    return {
        .on_part_begin =
            [this](const PartHeaders& headers) {
              parts.push_back(
                  Part{headers.name, headers.filename, headers.content_type, "", false});
              return absl::OkStatus();
            },
        .on_part_data =
            [this](std::string_view data) {
              if (parts.empty() || parts.back().ended)
                return absl::InternalError("data outside a part");
              parts.back().data.append(data);
              emitted += data.size();
              return absl::OkStatus();
            },
        .on_part_end =
            [this] {
              parts.back().ended = true;
              return absl::OkStatus();
            },
    };
  }

  std::vector<Part> parts;
  size_t emitted = 0;
};

std::string Delimiter() { return "--" + std::string(kBoundary); }

// A form with a text field, a file whose data contains CRLFs and prefixes of
// the delimiter, and a preamble and epilogue.
std::string SampleBody() {
  std::string d = Delimiter();
  return "This is a preamble.\r\n" + d + "\r\n" +
         "Content-Disposition: form-data; name=\"title\"\r\n\r\n" + "My video\r\n" + d + "\r\n" +
         "content-disposition: form-data; name=\"file\"; filename=\"a \\\"b\\\" ;c.mp4\"\r\n" +
         "Content-Type: video/mp4\r\n\r\n" + "\r\n\r\n--" + std::string(kBoundary.substr(0, 10)) +
         "\r\n-\r\n--\r" + d.substr(0, d.size() - 1) + "x\r\nend\r\n" + d + "--\r\n" +
         "epilogue is ignored " + d + "\r\n";
}

std::vector<Part> SampleParts() {
  std::string d = Delimiter();
  return {
      Part{"title", std::nullopt, "", "My video", true},
      Part{"file", "a \"b\" ;c.mp4", "video/mp4",
           "\r\n\r\n--" + std::string(kBoundary.substr(0, 10)) + "\r\n-\r\n--\r" +
               d.substr(0, d.size() - 1) + "x\r\nend",
           true},
  };
}

absl::Status FeedAll(MultipartParser& parser, const std::vector<std::string_view>& chunks) {
  for (std::string_view chunk : chunks) {
    if (absl::Status status = parser.Feed(chunk); !status.ok()) return status;
  }
  return parser.Finish();
}

absl::Status ParseInOne(std::string_view body, Recorder& recorder,
                        std::string_view boundary = kBoundary) {
  MultipartParser parser{std::string(boundary), recorder.Callbacks()};
  return FeedAll(parser, {body});
}

TEST(MultipartBoundaryTest, ReadsQuotedAndUnquotedBoundaries) {
  EXPECT_EQ(*MultipartBoundary("multipart/form-data; boundary=abc123"), "abc123");
  EXPECT_EQ(*MultipartBoundary("Multipart/Form-Data;boundary=\"a b:c\""), "a b:c");
  EXPECT_EQ(*MultipartBoundary("multipart/form-data; charset=utf-8; BOUNDARY=x-y"), "x-y");
}

TEST(MultipartBoundaryTest, RejectsOtherTypesAndBadBoundaries) {
  for (std::string_view value :
       {"text/plain; boundary=abc", "multipart/form-data",
        "multipart/form-data; boundary=", "multipart/form-data; boundary=\"\"",
        "multipart/form-data; boundary=\"abc", "multipart/form-data; boundary=a\rb",
        "multipart/form-data; boundary=\"ends with \"", "multipart/mixed; boundary=abc"}) {
    EXPECT_EQ(MultipartBoundary(value).status().code(), absl::StatusCode::kInvalidArgument)
        << value;
  }
}

TEST(MultipartBoundaryTest, BoundaryOfSeventyCharactersIsTheLongest) {
  std::string seventy(70, 'b');
  EXPECT_EQ(*MultipartBoundary("multipart/form-data; boundary=" + seventy), seventy);
  EXPECT_FALSE(MultipartBoundary("multipart/form-data; boundary=" + seventy + "b").ok());
}

TEST(MultipartParserTest, ParsesFieldsAndFilesInOneChunk) {
  Recorder recorder;
  absl::Status status = ParseInOne(SampleBody(), recorder);
  ASSERT_TRUE(status.ok()) << status;
  std::vector<Part> expected = SampleParts();
  EXPECT_EQ(recorder.parts, expected);
}

TEST(MultipartParserTest, SameResultWhenSplitAtEveryOffset) {
  std::string body = SampleBody();
  std::vector<Part> expected = SampleParts();
  for (size_t split = 0; split <= body.size(); ++split) {
    Recorder recorder;
    MultipartParser parser{std::string(kBoundary), recorder.Callbacks()};
    std::string_view view(body);
    ASSERT_TRUE(FeedAll(parser, {view.substr(0, split), view.substr(split)}).ok()) << split;
    ASSERT_EQ(recorder.parts, expected) << "split at " << split;
  }
}

TEST(MultipartParserTest, SameResultWhenFedByteByByte) {
  std::string body = SampleBody();
  Recorder recorder;
  MultipartParser parser{std::string(kBoundary), recorder.Callbacks()};
  for (char c : body) ASSERT_TRUE(parser.Feed(std::string_view(&c, 1)).ok());
  ASSERT_TRUE(parser.Finish().ok());
  EXPECT_EQ(recorder.parts, SampleParts());
}

TEST(MultipartParserTest, BackslashesInFilenamesAreKeptUnlessEscapingAQuote) {
  Recorder recorder;
  std::string body =
      Delimiter() +
      "\r\nContent-Disposition: form-data; name=f; filename=\"C:\\x\\\\y\\\"z\"\r\n\r\n" + "\r\n" +
      Delimiter() + "--";
  ASSERT_TRUE(ParseInOne(body, recorder).ok());
  ASSERT_EQ(recorder.parts.size(), 1u);
  EXPECT_EQ(recorder.parts[0].filename, "C:\\x\\y\"z");
}

TEST(MultipartParserTest, BodyMayStartWithTheBoundary) {
  Recorder recorder;
  std::string body =
      Delimiter() + "\r\nContent-Disposition: form-data; name=a\r\n\r\nx\r\n" + Delimiter() + "--";
  ASSERT_TRUE(ParseInOne(body, recorder).ok());
  EXPECT_EQ(recorder.parts, (std::vector<Part>{Part{"a", std::nullopt, "", "x", true}}));
}

TEST(MultipartParserTest, EmptyPartDataAndPaddingAfterTheBoundary) {
  Recorder recorder;
  std::string body = Delimiter() +
                     "  \t\r\nContent-Disposition: form-data; name=\"a\"; filename=\"\"" +
                     "\r\n\r\n\r\n" + Delimiter() + "--";
  ASSERT_TRUE(ParseInOne(body, recorder).ok());
  EXPECT_EQ(recorder.parts, (std::vector<Part>{Part{"a", "", "", "", true}}));
}

TEST(MultipartParserTest, EmptyFormHasNoParts) {
  Recorder recorder;
  ASSERT_TRUE(ParseInOne(Delimiter() + "--\r\n", recorder).ok());
  EXPECT_TRUE(recorder.parts.empty());
}

TEST(MultipartParserTest, MissingClosingBoundaryFailsAtFinish) {
  std::string body = SampleBody();
  std::string truncated = body.substr(0, body.find(Delimiter() + "--"));
  Recorder recorder;
  MultipartParser parser{std::string(kBoundary), recorder.Callbacks()};
  ASSERT_TRUE(parser.Feed(truncated).ok());
  EXPECT_EQ(parser.Finish().code(), absl::StatusCode::kInvalidArgument);

  Recorder nothing;
  EXPECT_EQ(ParseInOne("just a preamble", nothing).code(), absl::StatusCode::kInvalidArgument);
}

TEST(MultipartParserTest, MalformedPartHeadersAreInvalid) {
  for (std::string headers :
       {"Content-Disposition form-data; name=a", "Content-Type: text/plain",
        "Content-Disposition: attachment; name=a", "Content-Disposition: form-data",
        "Content-Disposition: form-data; name=\"a", ": x\r\nContent-Disposition: form-data; name=a",
        "Content-Disposition: form-data; name=a\r\n folded"}) {
    Recorder recorder;
    std::string body = Delimiter() + "\r\n" + headers + "\r\n\r\ndata\r\n" + Delimiter() + "--";
    EXPECT_EQ(ParseInOne(body, recorder).code(), absl::StatusCode::kInvalidArgument) << headers;
  }
}

TEST(MultipartParserTest, GarbageAfterABoundaryIsInvalid) {
  Recorder recorder;
  std::string body = Delimiter() + "x\r\nContent-Disposition: form-data; name=a\r\n\r\n";
  EXPECT_EQ(ParseInOne(body, recorder).code(), absl::StatusCode::kInvalidArgument);
}

TEST(MultipartParserTest, HeaderBlockOver16KiBIsInvalid) {
  Recorder recorder;
  MultipartParser parser{std::string(kBoundary), recorder.Callbacks()};
  ASSERT_TRUE(parser.Feed(Delimiter() + "\r\nContent-Disposition: form-data; name=a\r\n").ok());
  absl::Status status;
  std::string filler = "X-Filler: " + std::string(1000, 'f') + "\r\n";
  for (int i = 0; i < 20 && status.ok(); ++i) status = parser.Feed(filler);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(recorder.parts.empty());
  // After an error the parser takes no more input.
  EXPECT_FALSE(parser.Feed("\r\n\r\n").ok());
}

TEST(MultipartParserTest, LargeHeaderBlockUnderTheLimitIsFine) {
  Recorder recorder;
  std::string body = Delimiter() + "\r\nContent-Disposition: form-data; name=a\r\nX-Big: " +
                     std::string(15000, 'h') + "\r\n\r\nv\r\n" + Delimiter() + "--";
  ASSERT_TRUE(ParseInOne(body, recorder).ok());
  ASSERT_EQ(recorder.parts.size(), 1u);
}

absl::StatusCode CodeWhenFedInChunksOf(std::string_view body, size_t chunk) {
  Recorder recorder;
  MultipartParser parser{std::string(kBoundary), recorder.Callbacks()};
  for (size_t i = 0; i < body.size(); i += chunk) {
    if (absl::Status status = parser.Feed(body.substr(i, chunk)); !status.ok()) {
      return status.code();
    }
  }
  return parser.Finish().code();
}

// Found by fuzz/multipart_fuzzer: the padding and header limits used to
// depend on where the body was split into reads.
TEST(MultipartParserTest, LimitsGiveOneVerdictHoweverTheBodyIsSplit) {
  struct Case {
    std::string body;
    absl::StatusCode expected;
  };
  std::vector<Case> cases;
  for (size_t padding : {255, 256, 257}) {
    cases.push_back({Delimiter() + std::string(padding, ' ') +
                         "\r\nContent-Disposition: form-data; name=a\r\n\r\nv\r\n" + Delimiter() +
                         "--",
                     padding <= 256 ? absl::StatusCode::kOk : absl::StatusCode::kInvalidArgument});
  }
  // Header blocks whose end starts just under, at and just over 16 KiB.
  std::string head = "\r\nContent-Disposition: form-data; name=a\r\nX-Pad: ";
  for (size_t end : {16383, 16384, 16385}) {
    cases.push_back({Delimiter() + head + std::string(end - head.size(), 'p') + "\r\n\r\nv\r\n" +
                         Delimiter() + "--",
                     end <= 16384 ? absl::StatusCode::kOk : absl::StatusCode::kInvalidArgument});
  }
  for (const Case& c : cases) {
    for (size_t chunk : {c.body.size(), size_t{1}, size_t{7}, size_t{4096}}) {
      EXPECT_EQ(CodeWhenFedInChunksOf(c.body, chunk), c.expected)
          << "chunks of " << chunk << " of a " << c.body.size() << "-byte body";
    }
  }
}

TEST(MultipartParserTest, CallbackErrorsPassThroughAndStopTheParser) {
  MultipartParser::Callbacks callbacks;
  callbacks.on_part_begin = [](const PartHeaders&) { return absl::OkStatus(); };
  callbacks.on_part_data = [](std::string_view) {
    return absl::ResourceExhaustedError("disk full");
  };
  callbacks.on_part_end = [] { return absl::OkStatus(); };
  MultipartParser parser{std::string(kBoundary), callbacks};
  absl::Status status = parser.Feed(SampleBody());
  EXPECT_EQ(status.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_FALSE(parser.Feed("more").ok());
  EXPECT_FALSE(parser.Finish().ok());
}

// Data is handed on as soon as it cannot be the start of a delimiter, so the
// parser holds at most a delimiter's worth of a part between chunks.
TEST(MultipartParserTest, EmitsDataWithoutBufferingThePart) {
  Recorder recorder;
  MultipartParser parser{std::string(kBoundary), recorder.Callbacks()};
  ASSERT_TRUE(parser.Feed(Delimiter() + "\r\nContent-Disposition: form-data; name=f\r\n\r\n").ok());
  const std::string chunk(100000, 'z');
  for (int i = 1; i <= 20; ++i) {
    ASSERT_TRUE(parser.Feed(chunk).ok());
    EXPECT_EQ(recorder.emitted, chunk.size() * i);  // no '\r': nothing needs holding back
  }
  ASSERT_TRUE(parser.Feed("ab\r\n--" + std::string(kBoundary.substr(0, 5))).ok());
  EXPECT_EQ(recorder.emitted, chunk.size() * 20 + 2);  // the possible delimiter is held back
  ASSERT_TRUE(parser.Feed("NOT").ok());
  EXPECT_EQ(recorder.emitted, chunk.size() * 20 + 2 + 4 + 5 + 3);
  ASSERT_TRUE(parser.Feed("\r\n" + Delimiter() + "--").ok());
  ASSERT_TRUE(parser.Finish().ok());
  EXPECT_EQ(recorder.parts.back().data.size(), chunk.size() * 20 + 2 + 4 + 5 + 3);
}

TEST(MultipartParserTest, LongestBoundaryWorks) {
  std::string boundary(70, 'q');
  std::string d = "--" + boundary;
  std::string body = d + "\r\nContent-Disposition: form-data; name=a\r\n\r\n" + d.substr(0, 60) +
                     "\r\n" + d + "--";
  for (size_t split = 0; split <= body.size(); ++split) {
    Recorder recorder;
    MultipartParser parser{boundary, recorder.Callbacks()};
    std::string_view view(body);
    ASSERT_TRUE(FeedAll(parser, {view.substr(0, split), view.substr(split)}).ok()) << split;
    ASSERT_EQ(recorder.parts.size(), 1u);
    ASSERT_EQ(recorder.parts[0].data, d.substr(0, 60));
  }
}

}  // namespace
}  // namespace dvs::http
