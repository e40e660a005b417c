# Settings every ExitScope target shares, in one INTERFACE target.
add_library(exitscope_common INTERFACE)
target_compile_features(exitscope_common INTERFACE cxx_std_17)
set(CMAKE_CXX_EXTENSIONS OFF)
target_compile_options(exitscope_common INTERFACE
  $<$<CXX_COMPILER_ID:GNU,Clang>:-Wall -Wextra -Wpedantic -Wno-unused-parameter>)
target_compile_definitions(exitscope_common INTERFACE
  QT_NO_CAST_FROM_ASCII
  EXITSCOPE_VERSION="${PROJECT_VERSION}"
  EXITSCOPE_SOURCE_DIR="${PROJECT_SOURCE_DIR}")
