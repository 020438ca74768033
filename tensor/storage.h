#pragma once
// Storage: one reference-counted buffer on one device. Views share a Storage; the
// version counter lives here so that an in-place write through any view is seen by
// every saved tensor that aliases the same memory (see autograd/saved_tensor.h).
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>

#include "tensor/device.h"

namespace subtb {

class Storage {
 public:
  // Allocates `nbytes` on `device` through that device's backend (64-byte aligned on the CPU).
  Storage(size_t nbytes, Device device);
  // Adopts memory the caller owns; `release` is called with `data` when the storage dies.
  // A null `release` means the memory outlives the storage (zero-copy borrowing).
  Storage(void* data, size_t nbytes, Device device, std::function<void(void*)> release);
  ~Storage();
  Storage(const Storage&) = delete;
  Storage& operator=(const Storage&) = delete;

  void* data() const { return data_; }
  size_t nbytes() const { return nbytes_; }
  Device device() const { return device_; }

  uint64_t version() const { return version_; }
  void bump_version() { ++version_; }

 private:
  void* data_ = nullptr;
  size_t nbytes_ = 0;
  Device device_;
  std::function<void(void*)> release_;  // empty: freed through the device's backend
  bool owned_ = true;
  uint64_t version_ = 0;
};

}  // namespace subtb
