# KITE_SANITIZE=ON instruments everything built here with ASan + UBSan.
# Debian's libraries are not instrumented; ASan copes with that.
if(KITE_SANITIZE)
  add_compile_options(-fsanitize=address,undefined -fno-omit-frame-pointer
                      -fno-sanitize-recover=undefined
                      # RapidJSON 1.1.0 (Debian) offsets a null pointer in its stack;
                      # harmless, fixed upstream after the last release.
                      -fno-sanitize=pointer-overflow)
  add_link_options(-fsanitize=address,undefined)
endif()
