# Run one docs example: it must exit with 0 and write nothing to stderr
# (grove reports ignored misuse there). If guide.md shows its output in a
# ```text block right after an <!-- output: NAME.c --> line, the program must
# print exactly that.
#
#   cmake -DPROG=path/to/binary -DNAME=NAME.c -DGUIDE=docs/guide.md -P run_example.cmake
#
# STDERR_ALLOW (optional): a regular expression; the lines of stderr it
# matches are not counted (the transport's examples: a node logs peers going
# down, which its examples do on purpose).
cmake_minimum_required(VERSION 3.16)

# PRELOAD (optional): a library the program runs with in LD_PRELOAD (the
# grove-patch examples).
if(DEFINED PRELOAD)
  set(ENV{LD_PRELOAD} "${PRELOAD}")
endif()
execute_process(COMMAND "${PROG}" OUTPUT_VARIABLE out ERROR_VARIABLE err RESULT_VARIABLE rc
                TIMEOUT 50)
if(DEFINED STDERR_ALLOW AND NOT err STREQUAL "")
  set(all_err "${err}")
  string(REGEX REPLACE "(^|\n)(${STDERR_ALLOW})[^\n]*" "\\1" err "${err}")
  string(REGEX REPLACE "\n+" "\n" err "${err}")
  string(REGEX REPLACE "^\n" "" err "${err}")
  if(NOT err STREQUAL "")
    set(err "${all_err}")
  endif()
endif()
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "${NAME} exited with ${rc}\n--- stdout\n${out}--- stderr\n${err}")
endif()
if(NOT err STREQUAL "")
  message(FATAL_ERROR "${NAME} wrote to stderr\n--- stdout\n${out}--- stderr\n${err}")
endif()

file(READ "${GUIDE}" guide)
set(tag "<!-- output: ${NAME} -->\n```text\n")
string(FIND "${guide}" "${tag}" p)
if(p EQUAL -1)
  message(STATUS "${NAME}: exit 0 (guide.md shows no output for it)\n${out}")
  return()
endif()
string(LENGTH "${tag}" len)
math(EXPR p "${p} + ${len}")
string(SUBSTRING "${guide}" ${p} -1 rest)
string(FIND "${rest}" "```\n" c)
if(c EQUAL -1)
  message(FATAL_ERROR "guide.md: the output block of ${NAME} is not closed")
endif()
string(SUBSTRING "${rest}" 0 ${c} expected)
if(NOT out STREQUAL expected)
  get_filename_component(base "${PROG}" NAME)
  file(WRITE "${CMAKE_CURRENT_BINARY_DIR}/${base}.expected" "${expected}")
  file(WRITE "${CMAKE_CURRENT_BINARY_DIR}/${base}.actual" "${out}")
  execute_process(COMMAND diff -u "${CMAKE_CURRENT_BINARY_DIR}/${base}.expected"
                          "${CMAKE_CURRENT_BINARY_DIR}/${base}.actual")
  message(FATAL_ERROR "${NAME}: output differs from the one guide.md shows (diff above)")
endif()
message(STATUS "${NAME}: exit 0, output as shown in guide.md")
