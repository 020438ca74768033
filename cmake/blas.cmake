# CPU matmul goes through CBLAS from OpenBLAS. The OpenMP build of OpenBLAS is preferred:
# it runs on the same OpenMP thread pool as subtb's own kernels, while the pthreads build
# keeps a second pool whose spinning threads fight OpenMP's for the cores (a training
# step of tiny ops ran 7x slower with both pools on 2 cores). subtb_blas is an interface
# target the library links against.
set(SUBTB_OPENBLAS_DIRS /usr/lib/x86_64-linux-gnu/openblas-openmp /usr/lib/x86_64-linux-gnu/openblas-pthread)
find_path(SUBTB_CBLAS_INCLUDE cblas.h NO_DEFAULT_PATH PATHS
  /usr/include/x86_64-linux-gnu/openblas-openmp /usr/include/x86_64-linux-gnu/openblas-pthread)
find_library(SUBTB_OPENBLAS_LIB NAMES openblas NO_DEFAULT_PATH PATHS ${SUBTB_OPENBLAS_DIRS})
if(NOT SUBTB_CBLAS_INCLUDE OR NOT SUBTB_OPENBLAS_LIB)
  find_path(SUBTB_CBLAS_INCLUDE cblas.h PATHS /usr/include/openblas /usr/include)
  find_library(SUBTB_OPENBLAS_LIB NAMES openblas)
endif()
if(NOT SUBTB_CBLAS_INCLUDE OR NOT SUBTB_OPENBLAS_LIB)
  message(FATAL_ERROR "subtb: OpenBLAS (cblas.h, libopenblas) not found. "
                      "Run scripts/install-deps.sh to install libopenblas-openmp-dev.")
endif()
if(NOT SUBTB_OPENBLAS_LIB MATCHES "openmp")
  message(WARNING "subtb: using ${SUBTB_OPENBLAS_LIB}, not the OpenMP build of OpenBLAS: "
                  "its threads will compete with subtb's OpenMP threads (install libopenblas-openmp-dev)")
endif()
add_library(subtb_blas INTERFACE)
target_include_directories(subtb_blas INTERFACE ${SUBTB_CBLAS_INCLUDE})
target_link_libraries(subtb_blas INTERFACE ${SUBTB_OPENBLAS_LIB})
message(STATUS "subtb: BLAS ${SUBTB_OPENBLAS_LIB}")
