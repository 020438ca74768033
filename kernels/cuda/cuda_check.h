#pragma once
// Every CUDA runtime call is checked; a failure throws naming the call, file and line.
#include <cuda_runtime.h>

#include "tensor/error.h"

#define SUBTB_CUDA_CHECK(call)                                                                       \
  do {                                                                                               \
    const cudaError_t subtb_err_ = (call);                                                           \
    if (subtb_err_ != cudaSuccess) [[unlikely]] {                                                    \
      throw ::subtb::Error(::subtb::str(#call, " failed at ", __FILE__, ":", __LINE__, ": ",         \
                                        cudaGetErrorName(subtb_err_), " (",                          \
                                        cudaGetErrorString(subtb_err_), ")"));                       \
    }                                                                                                \
  } while (0)
