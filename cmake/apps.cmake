# apps.cmake - portal_add_app(NAME SOURCES... [DEPENDS files]) builds NAME.wasm with clang for
# wasm32-wasi (reactor model; the C SDK provides _start) into ${PORTAL_APPS_DIR}.
set(PORTAL_APPS_DIR ${CMAKE_BINARY_DIR}/apps-wasm)
file(MAKE_DIRECTORY ${PORTAL_APPS_DIR})
set(PORTAL_SDK_C ${CMAKE_SOURCE_DIR}/sdk/c)
set(PORTAL_APP_CFLAGS --target=wasm32-wasi -mexec-model=reactor -O2 -std=c11
    -Wall -Wextra -Werror -I${PORTAL_SDK_C}/include)
file(GLOB PORTAL_SDK_HEADERS ${PORTAL_SDK_C}/include/portal/*.h)

function(portal_add_app name)
  cmake_parse_arguments(A "" "" "SOURCES;DEPENDS;INCLUDES;LDFLAGS" ${ARGN})
  set(out ${PORTAL_APPS_DIR}/${name}.wasm)
  set(srcs)
  foreach(s ${A_SOURCES})
    get_filename_component(abs ${s} ABSOLUTE)
    list(APPEND srcs ${abs})
  endforeach()
  set(incs)
  foreach(i ${A_INCLUDES})
    list(APPEND incs -I${i})
  endforeach()
  add_custom_command(OUTPUT ${out}
    COMMAND ${WASI_CLANG} ${PORTAL_APP_CFLAGS} ${incs} -o ${out} ${srcs}
            ${PORTAL_SDK_C}/portal_sdk.c ${A_LDFLAGS}
    DEPENDS ${srcs} ${PORTAL_SDK_C}/portal_sdk.c ${PORTAL_SDK_HEADERS} ${A_DEPENDS}
    COMMENT "wasm32-wasi app ${name}.wasm" VERBATIM)
  add_custom_target(app_${name} ALL DEPENDS ${out})
  add_dependencies(app_${name} certs) # apps may embed the build's development certificates
endfunction()
