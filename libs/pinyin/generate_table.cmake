# cmake -DBZCAT=... -DINPUT=Unihan_Readings.txt.bz2 -DGENERATOR=... -DOUTPUT=table.cpp -P
#
# Runs bzcat INPUT | GENERATOR > OUTPUT, failing when either command fails (a shell
# pipeline would report only the generator's status). The table is written beside OUTPUT
# and renamed into place, so a failed run never leaves a half table to be compiled later.
foreach(var BZCAT INPUT GENERATOR OUTPUT)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "generate_table.cmake: -D${var}=... is required")
  endif()
endforeach()

execute_process(
  COMMAND ${BZCAT} ${INPUT}
  COMMAND ${GENERATOR}
  OUTPUT_FILE ${OUTPUT}.tmp
  RESULTS_VARIABLE statuses)
if(NOT statuses STREQUAL "0;0")
  file(REMOVE ${OUTPUT}.tmp)
  message(FATAL_ERROR "generating ${OUTPUT} from ${INPUT} failed (bzcat;generator exit statuses: ${statuses})")
endif()
file(RENAME ${OUTPUT}.tmp ${OUTPUT})
