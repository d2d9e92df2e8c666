# Run PROG: it must exit with 0 and its standard output must match every
# regular expression of the list PATTERNS (for output that varies with
# timing, where compare_output.cmake's exact comparison cannot be used).
execute_process(COMMAND ${PROG} OUTPUT_VARIABLE out RESULT_VARIABLE rc TIMEOUT 50)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "${PROG} exited with ${rc}\n${out}")
endif()
foreach(re IN LISTS PATTERNS)
  if(NOT out MATCHES "${re}")
    message(FATAL_ERROR "output of ${PROG} does not match \"${re}\":\n${out}")
  endif()
endforeach()
message(STATUS "${out}")
