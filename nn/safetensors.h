#pragma once
// The safetensors file format, read and written exactly, so that Python's safetensors
// (and anything else that speaks it) can open subtb's files and the other way round:
//
//   8 bytes     N, the header length, an unsigned little-endian integer
//   N bytes     a JSON object, UTF-8, padded with spaces to a multiple of 8 bytes:
//                 {"__metadata__": {"key": "value", ...},            (optional)
//                  "name": {"dtype": "F32", "shape": [2, 3], "data_offsets": [begin, end]}, ...}
//   the rest    the tensors' bytes, row-major, little-endian; data_offsets count from
//               the end of the header, and the tensors cover this region exactly
//
// dtypes: F32, F64, BF16, F16, I32, I64, BOOL (one byte, 0 or 1). The writer lays the
// tensors out as Python's safetensors does (I64, F64, F32, I32, BF16, F16, BOOL, then by
// name), which writes the same bytes for the same tensors and metadata and aligns every
// tensor's data to its element size. Writes are atomic (nn/atomic_file.h).
#include <map>
#include <string>

#include "nn/state_dict.h"

namespace subtb::nn {

using Metadata = std::map<std::string, std::string>;

struct SafetensorsFile {
  StateDict tensors;  // on the CPU
  Metadata metadata;
};

// Tensors may live on any device and have any strides. The name "__metadata__" is reserved.
void save_safetensors(const std::string& path, const StateDict& tensors, const Metadata& metadata = {});

// Validates the whole file: its size against the header length, the header's JSON and
// every entry (known dtype, shape, offsets inside the data and consistent with the
// shape, no gaps or overlaps, BOOL bytes 0 or 1); anything wrong throws naming the
// file and the problem.
SafetensorsFile load_safetensors(const std::string& path);

}  // namespace subtb::nn
