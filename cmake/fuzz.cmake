# fuzz.cmake - libFuzzer targets (tests/fuzz/fuzz_*.c) built with clang directly, since the main
# build may use gcc: each fuzzer is one clang command over its sources with
# -fsanitize=fuzzer,address,undefined, producing ${CMAKE_BINARY_DIR}/fuzz/<target>. ctest runs each
# one as fuzz.<target> for PORTAL_FUZZ_SECONDS (default 60) on the committed seed corpus
# (tests/fuzz/corpus/<target>) plus seeds made from this build's certificates and apps
# (make_corpus.sh --build), and prints "fuzz <target>: N execs" (tests are not registered in PORTAL_SANITIZE builds: the fuzzers are
# sanitized anyway). Build the fuzzers alone with `cmake --build <dir> --target fuzzers`.
#
# This file is also its own ctest driver: `cmake -DFUZZER=... -P cmake/fuzz.cmake` runs one fuzzer.

if(CMAKE_SCRIPT_MODE_FILE)
  # ---- script mode: run one fuzzer (variables: FUZZER NAME CORPUS_SCRIPT CORPUS_DIR WORK) ----
  if(DEFINED ENV{PORTAL_FUZZ_SECONDS})
    set(SECONDS $ENV{PORTAL_FUZZ_SECONDS})
  endif()
  if(NOT SECONDS)
    set(SECONDS 60)
  endif()
  file(REMOVE_RECURSE ${WORK})
  file(MAKE_DIRECTORY ${WORK}/seeds ${WORK}/corpus)
  execute_process(COMMAND bash ${CORPUS_SCRIPT} --build ${NAME} ${WORK}/seeds RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "fuzz ${NAME}: make_corpus.sh failed (${rc})")
  endif()
  file(GLOB committed ${CORPUS_DIR}/*)
  if(NOT committed)
    message(FATAL_ERROR "fuzz ${NAME}: no committed seeds in ${CORPUS_DIR}")
  endif()
  # New inputs go to corpus/ (first directory); the seed directories are only read. -timeout: a single input that
  # runs for 10 s is a hang, reported as a failure. -rss_limit_mb bounds memory per run.
  execute_process(
    COMMAND ${FUZZER} -max_total_time=${SECONDS} -print_final_stats=1 -timeout=10
            -rss_limit_mb=2048 -artifact_prefix=${WORK}/ ${WORK}/corpus ${CORPUS_DIR} ${WORK}/seeds
    WORKING_DIRECTORY ${WORK}
    RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  set(all "${out}${err}")
  string(REGEX MATCH "stat::number_of_executed_units: *([0-9]+)" m "${all}")
  set(execs "${CMAKE_MATCH_1}")
  string(REGEX MATCH "cov: *([0-9]+)" m "${all}")
  if(NOT rc EQUAL 0)
    # Show the tail of the report (sanitizer stack, crashing input) and fail.
    string(LENGTH "${all}" n)
    if(n GREATER 12000)
      math(EXPR start "${n} - 12000")
      string(SUBSTRING "${all}" ${start} -1 all)
    endif()
    message("${all}")
    message(FATAL_ERROR "fuzz ${NAME}: FAILED (exit ${rc}) after ${execs} execs; artifacts in ${WORK}")
  endif()
  if(NOT execs)
    message("${all}")
    message(FATAL_ERROR "fuzz ${NAME}: no execution count in the fuzzer output")
  endif()
  file(GLOB units ${WORK}/corpus/*)
  list(LENGTH units nunits)
  message("fuzz ${NAME}: ${execs} execs in ${SECONDS} s (${nunits} new corpus units)")
  return()
endif()

# ---- configure mode: included from the root CMakeLists.txt ----
if(CMAKE_C_COMPILER_ID STREQUAL "Clang")
  set(PORTAL_FUZZ_CC ${CMAKE_C_COMPILER})
else()
  find_program(PORTAL_FUZZ_CC NAMES clang-14 clang)
endif()
if(NOT PORTAL_FUZZ_CC)
  message(STATUS "fuzz: no clang found, fuzz targets skipped")
  return()
endif()
# libFuzzer ships with clang's runtime (libclang-rt-*-dev); check it links before using it.
set(_probe ${CMAKE_BINARY_DIR}/fuzz/probe)
file(WRITE ${_probe}/probe.c
  "#include <stddef.h>\n#include <stdint.h>\n"
  "int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n);\n"
  "int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n) { (void)d; (void)n; return 0; }\n")
execute_process(COMMAND ${PORTAL_FUZZ_CC} -fsanitize=fuzzer,address,undefined ${_probe}/probe.c
                        -o ${_probe}/probe
                RESULT_VARIABLE _probe_rc OUTPUT_QUIET ERROR_QUIET)
if(NOT _probe_rc EQUAL 0)
  message(STATUS "fuzz: ${PORTAL_FUZZ_CC} cannot link libFuzzer, fuzz targets skipped")
  return()
endif()
message(STATUS "fuzz: libFuzzer targets built with ${PORTAL_FUZZ_CC}")

set(PORTAL_FUZZ_DIR ${CMAKE_BINARY_DIR}/fuzz)
set(PORTAL_FUZZ_FLAGS -std=c11 -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE -g -O1
    -fno-omit-frame-pointer -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined
    -Wall -Wextra -Werror -I${CMAKE_SOURCE_DIR}/host -I${MBEDTLS_INCLUDE_DIR} -I${PORTAL_CERT_DIR}
    -DPORTAL_SOURCE_DIR="${CMAKE_SOURCE_DIR}" -DPORTAL_WASM2C="${WASM2C}")
if(PORTAL_MBEDTLS_LIBDIR) # another mbedTLS (PORTAL_MBEDTLS_ROOT): these links are not CMake's
  list(APPEND PORTAL_FUZZ_FLAGS -Wl,--disable-new-dtags,-rpath,${PORTAL_MBEDTLS_LIBDIR})
endif()
set(PORTAL_FUZZ_HOST_CORE ${PORTAL_CORE_SOURCES} ${CMAKE_SOURCE_DIR}/host/platform/posix.c
    ${CMAKE_SOURCE_DIR}/host/platform/posix_resolve.c)
set(PORTAL_FUZZ_RT ${CMAKE_SOURCE_DIR}/host/runtime)

set(PORTAL_FUZZ_SOURCES_fuzz_wasm_reader ${PORTAL_FUZZ_RT}/wasm_reader.c ${PORTAL_FUZZ_RT}/wasm_names.c
    ${PORTAL_FUZZ_RT}/linker.c ${CMAKE_SOURCE_DIR}/host/api/api_index.c)
set(PORTAL_FUZZ_LIBS_fuzz_wasm_reader "")
# fuzz_wasm2c_names runs the real wasm2c (PORTAL_WASM2C) on the modules it builds.
set(PORTAL_FUZZ_SOURCES_fuzz_wasm2c_names ${PORTAL_FUZZ_RT}/wasm_reader.c ${PORTAL_FUZZ_RT}/wasm_names.c
    ${PORTAL_FUZZ_RT}/c_scan.c ${PORTAL_FUZZ_RT}/w2c_guard.c)
set(PORTAL_FUZZ_LIBS_fuzz_wasm2c_names "")
set(PORTAL_FUZZ_SOURCES_fuzz_config ${PORTAL_FUZZ_HOST_CORE})
set(PORTAL_FUZZ_LIBS_fuzz_config ${MBEDTLS_LIBS})
set(PORTAL_FUZZ_SOURCES_fuzz_tls_server ${PORTAL_FUZZ_HOST_CORE})
set(PORTAL_FUZZ_LIBS_fuzz_tls_server ${MBEDTLS_LIBS})
# fuzz_api uses the runtime's own bounds check (memory.c, portal_rt_range) on a fake memory.
set(PORTAL_FUZZ_SOURCES_fuzz_api ${PORTAL_FUZZ_HOST_CORE} ${PORTAL_FUZZ_RT}/memory.c)
set(PORTAL_FUZZ_LIBS_fuzz_api ${MBEDTLS_LIBS} ${WASM_RT_IMPL})
get_filename_component(_wasm_rt_libdir ${WASM_RT_IMPL} DIRECTORY)
find_path(PORTAL_FUZZ_WASM_RT_INCLUDE wasm-rt.h HINTS ${_wasm_rt_libdir}/../include)
if(PORTAL_FUZZ_WASM_RT_INCLUDE)
  list(APPEND PORTAL_FUZZ_FLAGS -I${PORTAL_FUZZ_WASM_RT_INCLUDE})
endif()

file(GLOB_RECURSE _fuzz_headers CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/host/*.h)
# fuzz_wasm2c_names builds its modules with the unit tests' wasm_build.h.
list(APPEND _fuzz_headers ${CMAKE_SOURCE_DIR}/tests/unit/wasm_build.h)
set(PORTAL_FUZZ_TARGETS fuzz_wasm_reader fuzz_wasm2c_names fuzz_tls_server fuzz_api fuzz_config)
set(_fuzz_outputs "")
foreach(t ${PORTAL_FUZZ_TARGETS})
  set(src ${CMAKE_SOURCE_DIR}/tests/fuzz/${t}.c)
  add_custom_command(OUTPUT ${PORTAL_FUZZ_DIR}/${t}
    COMMAND ${CMAKE_COMMAND} -E make_directory ${PORTAL_FUZZ_DIR}
    COMMAND ${PORTAL_FUZZ_CC} ${PORTAL_FUZZ_FLAGS} ${src} ${PORTAL_FUZZ_SOURCES_${t}}
            ${PORTAL_FUZZ_LIBS_${t}} -lm -ldl -o ${PORTAL_FUZZ_DIR}/${t}
    DEPENDS ${src} ${PORTAL_FUZZ_SOURCES_${t}} ${_fuzz_headers}
            ${PORTAL_CERT_DIR}/dev_certs.h
    COMMENT "fuzzer ${t} (clang, libFuzzer + ASan + UBSan)" VERBATIM)
  list(APPEND _fuzz_outputs ${PORTAL_FUZZ_DIR}/${t})
  # The fuzzers are always sanitized; an ASan build (PORTAL_SANITIZE) would only run them twice.
  if(PORTAL_SANITIZE)
    continue()
  endif()
  add_test(NAME fuzz.${t}
    COMMAND ${CMAKE_COMMAND} -DFUZZER=${PORTAL_FUZZ_DIR}/${t} -DNAME=${t}
            -DCORPUS_SCRIPT=${CMAKE_SOURCE_DIR}/tests/fuzz/make_corpus.sh
            -DCORPUS_DIR=${CMAKE_SOURCE_DIR}/tests/fuzz/corpus/${t}
            -DWORK=${PORTAL_FUZZ_DIR}/run-${t} -P ${CMAKE_SOURCE_DIR}/cmake/fuzz.cmake)
  # The fuzzer bounds itself (-max_total_time); the ctest timeout only catches a wedged run.
  set_tests_properties(fuzz.${t} PROPERTIES TIMEOUT 100000 LABELS fuzz
    ENVIRONMENT "PORTAL_APPS=${PORTAL_APPS_DIR};PORTAL_CERTS=${PORTAL_CERT_DIR}")
endforeach()
add_custom_target(fuzzers ALL DEPENDS ${_fuzz_outputs})
add_dependencies(fuzzers certs)
