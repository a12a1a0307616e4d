# The fuzz targets and their CTest tests, shared by the fuzz tree (which builds them) and the main tree
# (which runs the fuzz tree's binaries: ISCSI_TARGET_FUZZ_BUILD).
set(FUZZ_TARGETS cmdline target_conf boot_config chap_secrets bls_entry saveconfig machine_facts)
if(EXISTS ${CMAKE_CURRENT_LIST_DIR}/../common/mountinfo.h)
  list(APPEND FUZZ_TARGETS mountinfo)
endif()

# One test fuzz-NAME per target: BINARY_DIR/fuzz-NAME replays the saved reproducers crashes/NAME-*.txt, then
# runs ISCSI_TARGET_FUZZ_SECONDS over a scratch copy of corpus/NAME (new inputs go to the scratch copy, never to
# the checked-in corpus); a crash, a sanitizer report, a timeout or a broken round-trip property fails it.
function(fuzz_add_tests binary_dir)
  foreach(name ${FUZZ_TARGETS})
    add_test(NAME fuzz-${name}
             COMMAND ${CMAKE_CURRENT_FUNCTION_LIST_DIR}/run-fuzz.sh ${binary_dir}/fuzz-${name}
                     ${CMAKE_CURRENT_FUNCTION_LIST_DIR}/corpus/${name} ${binary_dir}/scratch/${name} ${ISCSI_TARGET_FUZZ_SECONDS}
                     ${CMAKE_CURRENT_FUNCTION_LIST_DIR}/crashes)
    math(EXPR timeout "${ISCSI_TARGET_FUZZ_SECONDS} + 120")
    set_tests_properties(fuzz-${name} PROPERTIES TIMEOUT ${timeout} LABELS fuzz)
  endforeach()
endfunction()
