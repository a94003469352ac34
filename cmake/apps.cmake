# apps.cmake - portal_add_app(): builds a Paper Portal app written in C into NAME.wasm with clang for
# wasm32-wasi (reactor model; the C SDK provides _start). The one definition for both users: the
# repo's own build (root CMakeLists.txt, SDK from sdk/c) and the installed CMake package PortalSDK
# (PortalSDKConfig.cmake includes the installed copy of this file, SDK from the install prefix).
#
# The includer sets PORTAL_SDK_INCLUDE_DIR (the directory holding portal/*.h) and
# PORTAL_SDK_C_SOURCE (portal_sdk.c), and may set PORTAL_APPS_DIR (where NAME.wasm goes; default
# ${CMAKE_BINARY_DIR}). The cache variable PORTAL_WASI_CLANG names the clang to use; when unset it
# is looked up on PATH. Either way it must build a wasm32-wasi module, or configuring stops here.
#
#   portal_add_app(NAME [SOURCES] file.c... [INCLUDES dir...] [DEPENDS file...] [LDFLAGS flag...])
#
# makes ${PORTAL_APPS_DIR}/NAME.wasm, built by `all` through the target app_NAME, whose property
# PORTAL_APP_WASM holds that path. Sources before any keyword count as SOURCES.

if(NOT PORTAL_APPS_DIR)
  set(PORTAL_APPS_DIR ${CMAKE_BINARY_DIR})
endif()
set(PORTAL_APP_CFLAGS --target=wasm32-wasi -mexec-model=reactor -O2 -std=c11
    -Wall -Wextra -Werror -I${PORTAL_SDK_INCLUDE_DIR})
file(GLOB PORTAL_SDK_HEADERS ${PORTAL_SDK_INCLUDE_DIR}/portal/*.h)

# A clang that cannot link for wasm32-wasi (no lld, no wasi-libc, no wasm32 compiler-rt) would only
# fail at build time with a linker message; compiling and linking a one-line reactor module here
# turns that into a configure error that says what to install. Checked once per clang path.
find_program(PORTAL_WASI_CLANG NAMES clang clang-19 clang-18 clang-17 clang-16 clang-15 clang-14
  DOC "clang that builds wasm32-wasi modules (with lld, wasi-libc and wasm32 compiler-rt)")
if(NOT PORTAL_WASI_CLANG_CHECKED STREQUAL "${PORTAL_WASI_CLANG}")
  set(portal_wasi_hint "Paper Portal apps need clang with lld, wasi-libc and compiler-rt for \
wasm32 (Debian 12: apt-get install clang lld wasi-libc libclang-rt-14-dev-wasm32); pass \
-DPORTAL_WASI_CLANG=/path/to/clang to use another clang.")
  if(NOT PORTAL_WASI_CLANG)
    message(FATAL_ERROR "no clang found on PATH. ${portal_wasi_hint}")
  endif()
  set(probe_dir ${CMAKE_BINARY_DIR}/CMakeFiles/portal-wasi-probe)
  file(WRITE ${probe_dir}/probe.c
    "#include <stdio.h>\nint probe(void) { return printf(\"probe\"); }\n")
  execute_process(
    COMMAND ${PORTAL_WASI_CLANG} --target=wasm32-wasi -mexec-model=reactor -O2
            -o ${probe_dir}/probe.wasm ${probe_dir}/probe.c
    RESULT_VARIABLE probe_rc OUTPUT_VARIABLE probe_out ERROR_VARIABLE probe_out)
  if(NOT probe_rc EQUAL 0)
    message(FATAL_ERROR "${PORTAL_WASI_CLANG} cannot build a wasm32-wasi module (exit ${probe_rc}):\n"
      "${probe_out}\n${portal_wasi_hint}")
  endif()
  message(STATUS "clang for wasm32-wasi apps: ${PORTAL_WASI_CLANG}")
  set(PORTAL_WASI_CLANG_CHECKED ${PORTAL_WASI_CLANG} CACHE INTERNAL "PORTAL_WASI_CLANG that passed")
endif()

function(portal_add_app name)
  cmake_parse_arguments(A "" "" "SOURCES;DEPENDS;INCLUDES;LDFLAGS" ${ARGN})
  file(MAKE_DIRECTORY ${PORTAL_APPS_DIR})
  set(out ${PORTAL_APPS_DIR}/${name}.wasm)
  set(srcs)
  foreach(s ${A_UNPARSED_ARGUMENTS} ${A_SOURCES})
    get_filename_component(abs ${s} ABSOLUTE)
    list(APPEND srcs ${abs})
  endforeach()
  if(NOT srcs)
    message(FATAL_ERROR "portal_add_app(${name}): no source files")
  endif()
  set(incs)
  foreach(i ${A_INCLUDES})
    get_filename_component(abs ${i} ABSOLUTE)
    list(APPEND incs -I${abs})
  endforeach()
  add_custom_command(OUTPUT ${out}
    COMMAND ${PORTAL_WASI_CLANG} ${PORTAL_APP_CFLAGS} ${incs} -o ${out} ${srcs}
            ${PORTAL_SDK_C_SOURCE} ${A_LDFLAGS}
    DEPENDS ${srcs} ${PORTAL_SDK_C_SOURCE} ${PORTAL_SDK_HEADERS} ${A_DEPENDS}
    COMMENT "wasm32-wasi app ${name}.wasm" VERBATIM)
  add_custom_target(app_${name} ALL DEPENDS ${out})
  set_target_properties(app_${name} PROPERTIES PORTAL_APP_WASM ${out})
  if(TARGET certs) # in the repo's build, apps may embed its development certificates
    add_dependencies(app_${name} certs)
  endif()
endfunction()
