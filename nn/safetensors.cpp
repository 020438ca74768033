#include "nn/safetensors.h"

#include <algorithm>
#include <array>
#include <bit>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <vector>

#include "nn/atomic_file.h"
#include "tensor/ops.h"

// The format stores little-endian numbers; tensors are copied to and from it as they are.
static_assert(std::endian::native == std::endian::little, "safetensors I/O assumes a little-endian host");

namespace subtb::nn {

namespace {

constexpr const char* kMetadataKey = "__metadata__";
// Python's safetensors refuses larger headers as well: a bound on what a corrupt length
// can make us allocate.
constexpr uint64_t kMaxHeaderBytes = 100'000'000;

struct FormatDType {
  DType dtype;
  const char* name;
};
// In the order the reference writer lays tensors out (its dtype enum, descending; names
// break ties), so that both write the same bytes. Element sizes never grow along it, so
// every tensor's data is aligned to its element size.
constexpr std::array<FormatDType, 7> kFormatDTypes{{{DType::i64, "I64"},
                                                    {DType::f64, "F64"},
                                                    {DType::f32, "F32"},
                                                    {DType::i32, "I32"},
                                                    {DType::bf16, "BF16"},
                                                    {DType::f16, "F16"},
                                                    {DType::b8, "BOOL"}}};
// dtypes the format defines that subtb has no counterpart for.
constexpr std::array kForeignDTypes{"U8",      "I8",      "U16", "I16",     "U32",     "U64", "C64",
                                                     "F8_E4M3", "F8_E5M2", "F4",  "F6_E2M3", "F6_E3M2", "F8_E8M0"};

size_t format_index(DType dtype) {
  for (size_t i = 0; i < kFormatDTypes.size(); ++i)
    if (kFormatDTypes[i].dtype == dtype) return i;
  SUBTB_THROW("safetensors: no format name for dtype ", dtype);
}

std::string supported_names() {
  std::string out;
  for (const FormatDType& d : kFormatDTypes) out += (out.empty() ? "" : ", ") + std::string(d.name);
  return out;
}

void put_u64_le(uint64_t v, unsigned char* out) {
  for (int i = 0; i < 8; ++i) out[i] = static_cast<unsigned char>(v >> (8 * i));
}
uint64_t get_u64_le(const unsigned char* in) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v |= static_cast<uint64_t>(in[i]) << (8 * i);
  return v;
}

// One tensor entry of a header, checked against the data region's size.
struct Entry {
  std::string name;
  DType dtype;
  Shape shape;
  uint64_t begin, end;
};

class Reader {
 public:
  explicit Reader(const std::string& path) : path_(path) {}

  template <class... Args>
  [[noreturn]] void fail(const Args&... args) const {
    SUBTB_THROW("load_safetensors: '", path_, "': ", args...);
  }

  Entry parse_entry(const std::string& name, const nlohmann::json& value, uint64_t data_size) const {
    if (!value.is_object() || value.size() != 3 || !value.contains("dtype") || !value.contains("shape") ||
        !value.contains("data_offsets"))
      fail("entry '", name, "' must be an object with exactly the fields dtype, shape and data_offsets, got ",
           value.dump());
    Entry e{name, DType::f32, Shape{}, 0, 0};
    e.dtype = parse_dtype(name, value["dtype"]);

    const nlohmann::json& shape = value["shape"];
    const auto is_extent = [](const nlohmann::json& d) { return d.is_number_unsigned(); };
    if (!shape.is_array() || !std::all_of(shape.begin(), shape.end(), is_extent))
      fail("tensor '", name, "' has an invalid shape ", shape.dump(), " (expected an array of non-negative integers)");
    if (shape.size() > static_cast<size_t>(kMaxDims))
      fail("tensor '", name, "' has ", shape.size(), " dimensions, more than subtb's ", kMaxDims);
    // The byte count, with overflow caught: a corrupt shape must not wrap around.
    uint64_t nbytes = dtype_size(e.dtype);
    bool overflow = false;
    for (const nlohmann::json& d : shape) {
      const uint64_t extent = d.get<uint64_t>();
      overflow = overflow || __builtin_mul_overflow(nbytes, extent, &nbytes);
      e.shape.push_back(static_cast<int64_t>(extent));
    }
    if (overflow) fail("tensor '", name, "' of shape ", shape.dump(), " needs more than 2^64 bytes");
    if (nbytes > data_size)
      fail("tensor '", name, "' of shape ", shape.dump(), " needs ", nbytes, " bytes, more than the file's ", data_size,
           " bytes of data (a truncated file?)");

    const nlohmann::json& offsets = value["data_offsets"];
    if (!offsets.is_array() || offsets.size() != 2 || !offsets[0].is_number_unsigned() ||
        !offsets[1].is_number_unsigned())
      fail("tensor '", name, "' has invalid data_offsets ", offsets.dump(),
           " (expected [begin, end], non-negative integers)");
    e.begin = offsets[0].get<uint64_t>();
    e.end = offsets[1].get<uint64_t>();
    if (e.begin > e.end || e.end > data_size)
      fail("tensor '", name, "' has data_offsets [", e.begin, ", ", e.end, "] out of range (the data is ", data_size,
           " bytes: a truncated file?)");
    if (e.end - e.begin != nbytes)
      fail("tensor '", name, "' has data_offsets [", e.begin, ", ", e.end, "] spanning ", e.end - e.begin,
           " bytes, but its dtype and shape ", shape.dump(), " need ", nbytes);
    return e;
  }

  DType parse_dtype(const std::string& name, const nlohmann::json& value) const {
    if (!value.is_string()) fail("tensor '", name, "' has a dtype that is not a string: ", value.dump());
    const std::string text = value.get<std::string>();
    for (const FormatDType& d : kFormatDTypes)
      if (text == d.name) return d.dtype;
    for (const char* foreign : kForeignDTypes)
      if (text == foreign)
        fail("tensor '", name, "' has dtype ", text, ", which subtb does not support (it reads ", supported_names(),
             ")");
    fail("tensor '", name, "' has the unknown dtype '", text, "' (subtb reads ", supported_names(), ")");
  }

  Metadata parse_metadata(const nlohmann::json& value) const {
    if (!value.is_object()) fail("__metadata__ must be an object of strings, got ", value.dump());
    Metadata out;
    for (const auto& [key, v] : value.items()) {
      if (!v.is_string()) fail("__metadata__ entry '", key, "' is not a string: ", v.dump());
      out.emplace(key, v.get<std::string>());
    }
    return out;
  }

  // The tensors must tile the data region: no gaps, no overlaps, nothing past the last.
  void check_coverage(std::vector<Entry>& entries, uint64_t data_size) const {
    std::sort(entries.begin(), entries.end(),
              [](const Entry& a, const Entry& b) { return std::tie(a.begin, a.end) < std::tie(b.begin, b.end); });
    uint64_t covered = 0;
    const Entry* previous = nullptr;
    for (const Entry& e : entries) {
      if (e.begin < covered)
        fail("tensors '", previous->name, "' and '", e.name, "' overlap (bytes ", e.begin, " to ", covered, ")");
      if (e.begin > covered) fail("bytes ", covered, " to ", e.begin, " of the data belong to no tensor");
      covered = e.end;
      previous = &e;
    }
    if (covered != data_size) fail("bytes ", covered, " to ", data_size, " of the data belong to no tensor");
  }

 private:
  const std::string& path_;
};

struct FileCloser {
  void operator()(std::FILE* f) const { std::fclose(f); }
};

}  // namespace

void save_safetensors(const std::string& path, const StateDict& tensors, const Metadata& metadata) {
  // Host copies first, so that a bad tensor throws before the file is touched.
  struct Item {
    const std::string* name;
    Tensor host;
  };
  std::vector<Item> items;
  for (const auto& [name, t] : tensors) {
    SUBTB_CHECK(name != kMetadataKey, "save_safetensors: '", path, "': the name ", kMetadataKey, " is reserved");
    SUBTB_CHECK(t.defined(), "save_safetensors: '", path, "': tensor '", name, "' is undefined");
    items.push_back({&name, t.detach().to(kCPU).contiguous()});
  }
  // The reference writer's layout (see kFormatDTypes); the map already ordered the names.
  std::stable_sort(items.begin(), items.end(), [](const Item& a, const Item& b) {
    return format_index(a.host.dtype()) < format_index(b.host.dtype());
  });

  nlohmann::ordered_json header = nlohmann::ordered_json::object();
  if (!metadata.empty()) header[kMetadataKey] = metadata;
  uint64_t offset = 0;
  for (const Item& item : items) {
    const uint64_t nbytes = static_cast<uint64_t>(item.host.numel()) * item.host.itemsize();
    nlohmann::ordered_json entry;
    entry["dtype"] = kFormatDTypes[format_index(item.host.dtype())].name;
    entry["shape"] = item.host.shape().vec();
    entry["data_offsets"] = {offset, offset + nbytes};
    header[*item.name] = std::move(entry);
    offset += nbytes;
  }
  std::string text;
  try {
    text = header.dump();
  } catch (const nlohmann::json::exception& e) {
    SUBTB_THROW("save_safetensors: '", path, "': a name or metadata string is not valid UTF-8 (", e.what(), ")");
  }
  text.append((8 - text.size() % 8) % 8, ' ');

  write_file_atomically(path, [&](FileSink& sink) {
    unsigned char length[8];
    put_u64_le(text.size(), length);
    sink.write(length, sizeof length);
    sink.write(text.data(), text.size());
    for (const Item& item : items) sink.write(item.host.raw_data(), item.host.numel() * item.host.itemsize());
  });
}

SafetensorsFile load_safetensors(const std::string& path) {
  const Reader reader(path);
  const std::unique_ptr<std::FILE, FileCloser> file(std::fopen(path.c_str(), "rb"));
  if (!file) reader.fail("cannot open the file: ", std::strerror(errno));
  std::FILE* f = file.get();
  if (::fseeko(f, 0, SEEK_END) != 0) reader.fail("cannot seek: ", std::strerror(errno));
  const off_t end = ::ftello(f);
  if (end < 0) reader.fail("cannot tell the file size: ", std::strerror(errno));
  const uint64_t size = static_cast<uint64_t>(end);
  std::rewind(f);

  auto read_exactly = [&](void* dst, uint64_t n, const char* what) {
    if (n > 0 && std::fread(dst, 1, n, f) != n) reader.fail("the file ended while reading ", what);
  };
  if (size < 8) reader.fail("the file has ", size, " bytes, too few for the 8-byte header length");
  unsigned char length_bytes[8];
  read_exactly(length_bytes, 8, "the header length");
  const uint64_t header_size = get_u64_le(length_bytes);
  if (header_size > size - 8)
    reader.fail("the header length ", header_size, " runs past the end of the file (", size, " bytes): truncated?");
  if (header_size > kMaxHeaderBytes)
    reader.fail("the header length ", header_size, " exceeds the limit of ", kMaxHeaderBytes, " bytes");
  std::string text(header_size, '\0');
  read_exactly(text.data(), header_size, "the header");

  nlohmann::json header;
  try {
    header = nlohmann::json::parse(text);
  } catch (const nlohmann::json::parse_error& e) {
    reader.fail("the header is not valid JSON (", e.what(), ")");
  }
  if (!header.is_object()) reader.fail("the header is not a JSON object");

  const uint64_t data_size = size - 8 - header_size;
  SafetensorsFile out;
  std::vector<Entry> entries;
  for (const auto& [key, value] : header.items()) {
    if (key == kMetadataKey) out.metadata = reader.parse_metadata(value);
    else entries.push_back(reader.parse_entry(key, value, data_size));
  }
  reader.check_coverage(entries, data_size);

  // The entries now tile the data in file order: read them front to back.
  for (const Entry& e : entries) {
    Tensor t = make_tensor(e.shape, e.dtype, kCPU);
    read_exactly(t.raw_data(), e.end - e.begin, ("tensor '" + e.name + "'").c_str());
    if (e.dtype == DType::b8) {
      const auto* bytes = static_cast<const unsigned char*>(t.raw_data());
      for (uint64_t i = 0; i < e.end - e.begin; ++i)
        if (bytes[i] > 1)
          reader.fail("BOOL tensor '", e.name, "' holds the byte ", static_cast<int>(bytes[i]), " at element ", i,
                      " (expected 0 or 1)");
    }
    out.tensors.emplace(e.name, t);
  }
  return out;
}

}  // namespace subtb::nn
