#pragma once
// Every CUDA runtime and cuBLAS call is checked; a failure throws naming the call, file and
// line. Kernel launches are checked with check_launch, which names the kernel.
#include <cublas_v2.h>
#include <cuda_runtime.h>

#include "tensor/error.h"

#define SUBTB_CUDA_CHECK(call)                                                                                     \
  do {                                                                                                             \
    const cudaError_t subtb_err_ = (call);                                                                         \
    if (subtb_err_ != cudaSuccess) [[unlikely]] {                                                                  \
      throw ::subtb::Error(::subtb::str(#call, " failed at ", __FILE__, ":", __LINE__, ": ",                       \
                                        cudaGetErrorName(subtb_err_), " (", cudaGetErrorString(subtb_err_), ")")); \
    }                                                                                                              \
  } while (0)

#define SUBTB_CUBLAS_CHECK(call)                                                             \
  do {                                                                                       \
    const cublasStatus_t subtb_status_ = (call);                                             \
    if (subtb_status_ != CUBLAS_STATUS_SUCCESS) [[unlikely]] {                               \
      throw ::subtb::Error(::subtb::str(#call, " failed at ", __FILE__, ":", __LINE__, ": ", \
                                        cublasGetStatusName(subtb_status_), " (",            \
                                        cublasGetStatusString(subtb_status_), ")"));         \
    }                                                                                        \
  } while (0)

namespace subtb::cuda {

// Call right after every kernel launch on `stream`. Throws, naming `kernel`, when the
// launch failed. With SUBTB_CUDA_SYNC_DEBUG=1 in the environment it also waits for the
// kernel and checks how it ended, so that an asynchronous fault (an illegal address, a
// device-side assert) is reported by the op that caused it instead of a later one.
void check_launch(const char* kernel, cudaStream_t stream);

}  // namespace subtb::cuda
