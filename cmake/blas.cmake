# CPU matmul goes through CBLAS. OpenBLAS is preferred (multi-threaded, fast on x86);
# subtb_blas is an interface target the library links against.
find_path(SUBTB_CBLAS_INCLUDE cblas.h PATHS /usr/include/x86_64-linux-gnu/openblas-pthread
  /usr/include/openblas /usr/include/x86_64-linux-gnu /usr/include)
find_library(SUBTB_OPENBLAS_LIB NAMES openblas PATHS /usr/lib/x86_64-linux-gnu/openblas-pthread)
if(NOT SUBTB_CBLAS_INCLUDE OR NOT SUBTB_OPENBLAS_LIB)
  message(FATAL_ERROR "subtb: OpenBLAS (cblas.h, libopenblas) not found. "
                      "Run scripts/install-deps.sh to install libopenblas-dev.")
endif()
add_library(subtb_blas INTERFACE)
target_include_directories(subtb_blas INTERFACE ${SUBTB_CBLAS_INCLUDE})
target_link_libraries(subtb_blas INTERFACE ${SUBTB_OPENBLAS_LIB})
message(STATUS "subtb: BLAS ${SUBTB_OPENBLAS_LIB}")
