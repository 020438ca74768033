# Use ccache when it is installed: CI rebuilds the same sources often.
find_program(SUBTB_CCACHE ccache)
if(SUBTB_CCACHE)
  set(CMAKE_CXX_COMPILER_LAUNCHER ${SUBTB_CCACHE})
  set(CMAKE_CUDA_COMPILER_LAUNCHER ${SUBTB_CCACHE})
endif()
