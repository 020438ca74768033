#include "nn/safetensors.h"

#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <limits>

#include "nn/atomic_file.h"
#include "tests/nn/temp_dir.h"
#include "tests/support/test_util.h"

namespace subtb {
namespace {

using Safetensors = testing::TempDirTest;

// Bytes of a file: the 8-byte little-endian length of `header` (which must already be
// padded as wanted), the header, then `data`.
std::string file_bytes(const std::string& header, const std::string& data) {
  std::string out(8, '\0');
  for (int i = 0; i < 8; ++i) out[i] = static_cast<char>((header.size() >> (8 * i)) & 0xff);
  return out + header + data;
}

template <class Bits>
Tensor from_bits(const std::vector<Bits>& bits, DType dtype, const Shape& shape) {
  return from_buffer(bits.data(), shape, dtype);
}

bool same_bytes(const Tensor& a, const Tensor& b) {
  const Tensor x = a.contiguous(), y = b.contiguous();
  return x.dtype() == y.dtype() && x.shape() == y.shape() &&
         std::memcmp(x.raw_data(), y.raw_data(), x.numel() * x.itemsize()) == 0;
}

TEST_F(Safetensors, HeaderAndDataAreByteExact) {
  nn::save_safetensors(path("tiny.safetensors"),
                       {{"a", from_vector<float>({1.0f, -2.0f})}, {"b", from_vector<int64_t>({7}, Shape{})}},
                       {{"k", "v"}});
  // The 8-byte element (b) comes first; the JSON is 132 bytes, padded with 4 spaces to 136 = 0x88.
  const std::string header =
      R"({"__metadata__":{"k":"v"},"b":{"dtype":"I64","shape":[],"data_offsets":[0,8]},)"
      R"("a":{"dtype":"F32","shape":[2],"data_offsets":[8,16]}})"
      "    ";
  const std::string expected = std::string("\x88\0\0\0\0\0\0\0", 8) + header +
                               std::string("\x07\0\0\0\0\0\0\0", 8) +   // b = 7
                               std::string("\0\0\x80\x3f\0\0\0\xc0", 8);  // a = 1.0f, -2.0f
  EXPECT_EQ(read_bytes(path("tiny.safetensors")), expected);
  EXPECT_EQ(listing(), std::vector<std::string>{"tiny.safetensors"});  // no temporary file left
}

TEST_F(Safetensors, LaysTensorsOutLikePythonsWriter) {
  // Dtypes in the order I64, F64, F32, I32, BF16, F16, BOOL, then names: the order
  // Python's safetensors writes, so that both produce the same bytes.
  nn::save_safetensors(path("o.safetensors"), {{"bool", zeros(Shape{1}, DType::b8)},
                                               {"f16", zeros(Shape{1}, DType::f16)},
                                               {"bf16", zeros(Shape{1}, DType::bf16)},
                                               {"i32", zeros(Shape{1}, DType::i32)},
                                               {"f32b", zeros(Shape{1})},
                                               {"f32a", zeros(Shape{1})},
                                               {"f64", zeros(Shape{1}, DType::f64)},
                                               {"i64", zeros(Shape{1}, DType::i64)}});
  const std::string bytes = read_bytes(path("o.safetensors"));
  std::vector<size_t> positions;
  for (const char* name : {"\"i64\"", "\"f64\"", "\"f32a\"", "\"f32b\"", "\"i32\"", "\"bf16\"", "\"f16\"", "\"bool\""})
    positions.push_back(bytes.find(name));
  EXPECT_TRUE(std::is_sorted(positions.begin(), positions.end()));
  EXPECT_NE(bytes.find(R"("bool":{"dtype":"BOOL","shape":[1],"data_offsets":[32,33]})"), std::string::npos);
}

TEST_F(Safetensors, NoMetadataMeansNoMetadataKey) {
  nn::save_safetensors(path("t.safetensors"), {{"x", from_vector<int32_t>({-1})}});
  const std::string header = R"({"x":{"dtype":"I32","shape":[1],"data_offsets":[0,4]}})";  // 54 bytes + 2
  EXPECT_EQ(read_bytes(path("t.safetensors")), file_bytes(header + "  ", std::string("\xff\xff\xff\xff", 4)));
}

TEST_F(Safetensors, EveryDTypeRoundTripsBitForBit) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  nn::StateDict tensors{
      {"f32", from_bits<uint32_t>({0x00000000, 0x80000000, 0x7f800000, 0xff800000, 0x7fc00001, 0x00000001,
                                   0x3f800000, 0x7f7fffff},
                                  DType::f32, Shape{2, 4})},
      {"f64", from_bits<uint64_t>({0x8000000000000000ull, 0x7ff0000000000000ull, 0x7ff8000000000abcull,
                                   0x0000000000000001ull, 0x3ff0000000000001ull, 0xffefffffffffffffull},
                                  DType::f64, Shape{3, 2})},
      {"bf16", from_bits<uint16_t>({0x0000, 0x8000, 0x7f80, 0x7fc1, 0x0001, 0x3f80, 0xff7f}, DType::bf16, Shape{7})},
      {"f16", from_bits<uint16_t>({0x0000, 0x8000, 0x7c00, 0x7e01, 0x0001, 0x3c00, 0xfbff}, DType::f16, Shape{7})},
      {"i32", from_vector<int32_t>({std::numeric_limits<int32_t>::min(), -1, 0, std::numeric_limits<int32_t>::max()})},
      {"i64", from_vector<int64_t>({std::numeric_limits<int64_t>::min(), -1, 0, std::numeric_limits<int64_t>::max()})},
      {"bool", from_vector<bool>({true, false, false, true, true}, Shape{5, 1})},
      {"scalar", scalar_tensor(nan, DType::f64)},
      {"empty", zeros(Shape{0, 3}, DType::f16)},
      // Saved row-major whatever the strides.
      {"transposed", arange(12, DType::i64).reshape(Shape{3, 4}).t()},
  };
  nn::save_safetensors(path("all.safetensors"), tensors, {{"note", "every dtype"}, {"empty", ""}});
  const nn::SafetensorsFile loaded = nn::load_safetensors(path("all.safetensors"));
  ASSERT_EQ(loaded.tensors.size(), tensors.size());
  for (const auto& [name, t] : tensors) {
    ASSERT_TRUE(loaded.tensors.contains(name)) << name;
    EXPECT_TRUE(same_bytes(loaded.tensors.at(name), t)) << name;
    EXPECT_TRUE(loaded.tensors.at(name).device().is_cpu());
  }
  EXPECT_EQ(loaded.metadata, (nn::Metadata{{"note", "every dtype"}, {"empty", ""}}));
}

TEST_F(Safetensors, ReadsAHandWrittenFileWithAnyEntryOrder) {
  // Entries out of offset order, no padding, a metadata object placed last.
  const std::string header =
      R"({"w":{"dtype":"F64","shape":[1],"data_offsets":[2,10]},"m":{"dtype":"BOOL","shape":[2],"data_offsets":[0,2]},)"
      R"("__metadata__":{"format":"pt"}})";
  write_bytes(path("h.safetensors"),
              file_bytes(header, std::string("\x01\x00", 2) + std::string("\0\0\0\0\0\0\xf8\x3f", 8)));
  const nn::SafetensorsFile f = nn::load_safetensors(path("h.safetensors"));
  EXPECT_EQ(testing::values(f.tensors.at("w")), std::vector<double>{1.5});
  EXPECT_EQ(f.tensors.at("m").to_vector<bool>(), (std::vector<bool>{true, false}));
  EXPECT_EQ(f.metadata.at("format"), "pt");
}

TEST_F(Safetensors, RejectsCorruptFilesNamingTheProblem) {
  const std::string p = path("bad.safetensors");
  auto expect_rejected = [&](const std::string& bytes, const std::vector<std::string>& parts) {
    write_bytes(p, bytes);
    bool thrown = false;
    try {
      nn::load_safetensors(p);
    } catch (const Error& e) {
      thrown = true;
      const std::string msg = e.what();
      EXPECT_NE(msg.find("load_safetensors: '" + p + "'"), std::string::npos) << msg;
      for (const std::string& part : parts) EXPECT_NE(msg.find(part), std::string::npos) << msg << " lacks " << part;
    }
    EXPECT_TRUE(thrown) << "accepted: " << parts[0];
  };
  const auto entry = [](const std::string& name, const std::string& dtype, const std::string& shape, int b, int e) {
    return "\"" + name + "\":{\"dtype\":\"" + dtype + "\",\"shape\":" + shape + ",\"data_offsets\":[" +
           std::to_string(b) + "," + std::to_string(e) + "]}";
  };
  const std::string eight(8, '\0');

  expect_rejected(std::string("\x05\0\0", 3), {"3 bytes, too few for the 8-byte header length"});
  expect_rejected(std::string("\xe8\x03\0\0\0\0\0\0", 8) + "{}", {"header length 1000 runs past the end", "truncated"});
  expect_rejected(file_bytes(R"({"a": )", ""), {"not valid JSON"});
  expect_rejected(file_bytes("[1, 2]", ""), {"not a JSON object"});
  expect_rejected(file_bytes("{" + entry("a", "Q8", "[1]", 0, 8) + "}", eight), {"tensor 'a'", "unknown dtype 'Q8'"});
  expect_rejected(file_bytes("{" + entry("a", "U8", "[8]", 0, 8) + "}", eight),
                  {"dtype U8, which subtb does not support", "I64, F64, F32, I32, BF16, F16, BOOL"});
  expect_rejected(file_bytes("{" + entry("a", "F32", "[4]", 0, 16) + "}", eight),
                  {"tensor 'a'", "needs 16 bytes, more than the file's 8 bytes of data"});
  expect_rejected(file_bytes("{" + entry("a", "F32", "[1]", 4, 12) + "}", eight), {"[4, 12] out of range"});
  expect_rejected(file_bytes("{" + entry("a", "F32", "[1]", 0, 8) + "}", eight), {"spanning 8 bytes", "need 4"});
  expect_rejected(file_bytes("{" + entry("a", "F32", "[-1]", 0, 8) + "}", eight), {"invalid shape [-1]"});
  expect_rejected(file_bytes("{" + entry("a", "F32", "[1]", 0, 4) + "," + entry("b", "I32", "[1]", 8, 12) + "}",
                             std::string(12, '\0')),
                  {"bytes 4 to 8 of the data belong to no tensor"});
  expect_rejected(file_bytes("{" + entry("a", "F64", "[1]", 0, 8) + "," + entry("b", "I32", "[1]", 4, 8) + "}", eight),
                  {"tensors 'a' and 'b' overlap"});
  expect_rejected(file_bytes("{" + entry("a", "F32", "[1]", 0, 4) + "}", eight),
                  {"bytes 4 to 8 of the data belong to no tensor"});
  expect_rejected(file_bytes("{" + entry("a", "BOOL", "[2]", 0, 2) + "}", std::string("\x01\x02", 2)),
                  {"BOOL tensor 'a' holds the byte 2 at element 1"});
  expect_rejected(file_bytes(R"({"a":{"dtype":"F32","shape":[1]}})", ""), {"entry 'a'", "exactly the fields"});
  expect_rejected(file_bytes(R"({"__metadata__":{"k":1}})", ""), {"__metadata__ entry 'k' is not a string"});

  // A real file cut short.
  nn::save_safetensors(p, {{"x", zeros(Shape{4})}});
  std::string bytes = read_bytes(p);
  bytes.resize(bytes.size() - 4);
  expect_rejected(bytes, {"tensor 'x'", "needs 16 bytes, more than the file's 12", "truncated"});
  expect_rejected(file_bytes("{" + entry("a", "F32", "[1000000,1000000,1000000,1000000]", 0, 8) + "}", eight),
                  {"needs more than 2^64 bytes"});

  EXPECT_THROW_MSG(nn::load_safetensors(path("missing.safetensors")), "missing.safetensors", "cannot open the file",
                   "No such file");
}

TEST_F(Safetensors, SaveRejectsBadInputBeforeTouchingTheFile) {
  const std::string p = path("keep.safetensors");
  nn::save_safetensors(p, {{"x", ones(Shape{2})}});
  const std::string before = read_bytes(p);
  EXPECT_THROW_MSG(nn::save_safetensors(p, {{"x", Tensor()}}), "tensor 'x' is undefined");
  EXPECT_THROW_MSG(nn::save_safetensors(p, {{"__metadata__", ones(Shape{1})}}), "__metadata__ is reserved");
  EXPECT_THROW_MSG(nn::save_safetensors(p, {{"x", ones(Shape{1})}}, {{"k", "\xff"}}), "not valid UTF-8");
  EXPECT_EQ(read_bytes(p), before);
  EXPECT_EQ(listing(), std::vector<std::string>{"keep.safetensors"});
}

TEST_F(Safetensors, FailedWriteLeavesTheOldFileAndNoTemporary) {
  const std::string p = path("ckpt.safetensors");
  nn::save_safetensors(p, {{"x", ones(Shape{3})}});
  const std::string before = read_bytes(p);
  // The whole new content is in the temporary file when the failure strikes.
  EXPECT_THROW_MSG(nn::write_file_atomically(p,
                                             [](nn::FileSink& sink) {
                                               sink.write("new content", 11);
                                               throw Error("injected failure before the rename");
                                             }),
                   "injected failure");
  EXPECT_EQ(read_bytes(p), before);
  EXPECT_EQ(listing(), std::vector<std::string>{"ckpt.safetensors"});
}

TEST_F(Safetensors, FailedRenameLeavesTheTargetAndNoTemporary) {
  // The target is a non-empty directory: the temporary file is written, the rename fails.
  const std::string p = path("taken");
  std::filesystem::create_directory(p);
  write_bytes(p + "/inside", "old");
  EXPECT_THROW_MSG(nn::save_safetensors(p, {{"x", ones(Shape{3})}}), "cannot rename", "taken");
  EXPECT_EQ(read_bytes(p + "/inside"), "old");
  EXPECT_EQ(listing(), std::vector<std::string>{"taken"});
}

TEST_F(Safetensors, CrashMidWriteLeavesTheOldFileIntact) {
  const std::string p = path("ckpt.safetensors");
  nn::save_safetensors(p, {{"x", ones(Shape{3})}});
  const std::string before = read_bytes(p);
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {  // dies abruptly halfway through writing the new file
    nn::write_file_atomically(p, [](nn::FileSink& sink) {
      sink.write("half of it", 10);
      ::_exit(42);
    });
    ::_exit(0);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 42);
  EXPECT_EQ(read_bytes(p), before);
  EXPECT_EQ(nn::load_safetensors(p).tensors.size(), 1u);
  // Only the crashed writer's temporary file is left beside it, named as documented.
  const std::vector<std::string> names = listing();
  ASSERT_EQ(names.size(), 2u);
  EXPECT_EQ(names[0].rfind(".ckpt.safetensors.tmp." + std::to_string(child) + ".", 0), 0u) << names[0];
  // And the next save replaces the file cleanly.
  nn::save_safetensors(p, {{"y", zeros(Shape{1})}});
  EXPECT_TRUE(nn::load_safetensors(p).tensors.contains("y"));
}

}  // namespace
}  // namespace subtb
