#include "tensor/storage.h"

#include "kernels/backend.h"

namespace subtb {

Storage::Storage(size_t nbytes, Device device) : nbytes_(nbytes), device_(device) {
  data_ = backend(device).allocate(nbytes);
}

Storage::Storage(void* data, size_t nbytes, Device device, std::function<void(void*)> release)
    : data_(data), nbytes_(nbytes), device_(device), release_(std::move(release)), owned_(false) {}

Storage::~Storage() {
  if (owned_) {
    backend(device_).deallocate(data_, nbytes_);
  } else if (release_) {
    release_(data_);
  }
}

}  // namespace subtb
