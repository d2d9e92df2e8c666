# docs/api-sync: the reference (docs/api/*.md, taken together) must show
# every public function of include/grove/*.h with the header's exact
# signature, name every error code of GROVE_ERRNO_MAP, and show no function
# the headers do not declare.
#
#   cmake -DINCLUDE=include/grove -DREFERENCE=docs/api -P api_sync.cmake
#
# Signatures are compared with runs of white space folded to one space.
cmake_minimum_required(VERSION 3.16)

if(NOT INCLUDE OR NOT REFERENCE)
  message(FATAL_ERROR "usage: cmake -DINCLUDE=dir -DREFERENCE=docs/api -P api_sync.cmake")
endif()
get_filename_component(INCLUDE "${INCLUDE}" ABSOLUTE)
file(GLOB ref_files "${REFERENCE}/*.md")
set(ref "")
foreach(f ${ref_files})
  file(READ "${f}" part)
  string(APPEND ref "\n${part}")
endforeach()
string(REGEX REPLACE "[ \t\r\n]+" " " ref_flat "${ref}")

# A declaration starts a line with a lower-case letter and ends with ");".
set(decl_re "\n[a-z][^\n;{}]*[ *]grove_[a-z0-9_]+\\([^;]*\\)")
set(errors 0)
set(names "")
set(ndecl 0)
file(GLOB headers "${INCLUDE}/*.h")
foreach(h ${headers})
  file(READ "${h}" text)
  string(REGEX MATCHALL "${decl_re}" decls "${text}")
  foreach(d ${decls})
    string(REGEX REPLACE "[ \t\r\n]+" " " d "${d}")
    string(STRIP "${d}" d)
    string(REGEX MATCH "grove_[a-z0-9_]+\\(" name "${d}")
    string(REGEX REPLACE "\\($" "" name "${name}")
    list(APPEND names "${name}")
    math(EXPR ndecl "${ndecl} + 1")
    string(FIND "${ref_flat}" "${d};" at)
    if(at EQUAL -1)
      get_filename_component(hname "${h}" NAME)
      message(SEND_ERROR "docs/api/*.md lack the signature of ${name} (grove/${hname}):\n  ${d};")
      math(EXPR errors "${errors} + 1")
    endif()
  endforeach()
  # Error codes: XX(NAME, value, "message") in GROVE_ERRNO_MAP.
  string(REGEX MATCHALL "XX\\(([A-Z0-9]+)," codes "${text}")
  foreach(c ${codes})
    string(REGEX REPLACE "XX\\(([A-Z0-9]+)," "GROVE_\\1" c "${c}")
    string(FIND "${ref}" "`${c}`" at)
    if(at EQUAL -1)
      message(SEND_ERROR "docs/api/*.md do not list the error code ${c}")
      math(EXPR errors "${errors} + 1")
    endif()
  endforeach()
endforeach()

# Signatures shown in the reference must be declared by a header.
string(REGEX MATCHALL "${decl_re};" shown "\n${ref}")
foreach(d ${shown})
  string(REGEX MATCH "grove_[a-z0-9_]+\\(" name "${d}")
  string(REGEX REPLACE "\\($" "" name "${name}")
  if(NOT name IN_LIST names)
    message(SEND_ERROR "docs/api/*.md show ${name}, which no header in ${INCLUDE} declares")
    math(EXPR errors "${errors} + 1")
  endif()
endforeach()

if(ndecl EQUAL 0)
  message(FATAL_ERROR "api-sync: no declarations found in ${INCLUDE}")
endif()
if(errors GREATER 0)
  message(FATAL_ERROR "api-sync: ${errors} problem(s)")
endif()
message(STATUS "api-sync: ${ndecl} declarations, all documented with their exact signatures")
