# Warnings are errors for the project's own code. Generated code (protobuf/gRPC)
# and third-party headers are compiled without this interface library.
add_library(kite_warnings INTERFACE)
target_compile_options(kite_warnings INTERFACE
  -Wall -Wextra -Wpedantic -Werror
  -Wshadow -Wnon-virtual-dtor -Wold-style-cast -Wcast-align
  -Woverloaded-virtual -Wformat=2 -Wimplicit-fallthrough)
