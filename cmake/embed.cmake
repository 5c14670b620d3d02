# Writes the bytes of a file as a C array, at build time, so that jwtd serves the file without
# reading it at run time (docs/openapi.json: GET /openapi.json, src/server/openapi.c).
#   cmake -DIN=FILE -DOUT=FILE.c -DNAME=symbol -DHEADER=path.h -P embed.cmake
# defines `const unsigned char NAME[]` (the bytes, no NUL added) and `const size_t NAME_len`.
cmake_minimum_required(VERSION 3.20)
foreach(var IN ITEMS IN OUT NAME HEADER)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "embed.cmake: -D${var}=... is required")
  endif()
endforeach()
file(READ "${IN}" hex HEX)
string(LENGTH "${hex}" digits)
math(EXPR size "${digits} / 2")
if(size EQUAL 0)
  message(FATAL_ERROR "embed.cmake: ${IN} is empty")
endif()
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," bytes "${hex}")
# 16 bytes a line (CMake's regular expressions have no {n}).
string(REPEAT "0x[0-9a-f][0-9a-f]," 16 line)
string(REGEX REPLACE "(${line})" "\\1\n    " bytes "${bytes}")
get_filename_component(from "${IN}" NAME)
file(WRITE "${OUT}.tmp"
     "/* Generated at build time from ${from} by cmake/embed.cmake: do not edit. */\n"
     "#include \"${HEADER}\"\n\n"
     "const unsigned char ${NAME}[${size}] = {\n    ${bytes}\n};\n"
     "const size_t ${NAME}_len = ${size};\n")
# Only a changed array is rewritten, so an unchanged document recompiles nothing.
file(COPY_FILE "${OUT}.tmp" "${OUT}" ONLY_IF_DIFFERENT)
file(REMOVE "${OUT}.tmp")
