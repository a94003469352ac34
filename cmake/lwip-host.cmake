# lwip-host.cmake - portal-host-lwip: the desktop runtime (host/runtime) on host/platform/lwip.c
# instead of posix.c, linked against Debian's liblwip (real lwIP 2.1, unix port) and attached to a
# TAP interface (host/lwip-host). tests/integration/test_lwip.sh runs apps on it inside a network
# namespace it creates. Needs the lwIP headers/library found by cmake/firmware-checks.cmake.
#
# Socket limit: ESP-IDF's lwIP has a fixed socket table (CONFIG_LWIP_MAX_SOCKETS, default 10 on
# 5.0-5.3); Debian's liblwip grows its table without bound (its max_sockets patch), so the limit
# cannot come from the library. PORTAL_LWIP_SOCKETS is the platform layer's budget (as on the
# device) and PORTAL_LWIP_STACK_SOCKETS makes lwip_socket/lwip_accept fail like ESP-IDF's beyond
# that many sockets (lwip_accept dropping the connection), so exhaustion is real in the test.
set(PORTAL_LWIP_TEST_SOCKETS 10 CACHE STRING "lwIP sockets of portal-host-lwip (ESP-IDF default: 10)")

if(PORTAL_LWIP_INCLUDE_DIR AND PORTAL_LWIP_LIB AND EXISTS ${PORTAL_LWIP_INCLUDE_DIR}/netif/tapif.h)
  find_package(Threads REQUIRED)
  add_library(portal_core_lwip STATIC ${PORTAL_CORE_SOURCES})
  target_include_directories(portal_core_lwip PUBLIC host ${MBEDTLS_INCLUDE_DIR})
  target_compile_options(portal_core_lwip PRIVATE ${PORTAL_WARNINGS})
  target_link_libraries(portal_core_lwip PUBLIC ${MBEDTLS_LIBS})

  # The lwIP-facing files see lwIP's headers; nothing else does (they would shadow libc's).
  add_library(portal_lwip_glue OBJECT host/platform/lwip.c host/lwip-host/lwip_host.c)
  target_include_directories(portal_lwip_glue PRIVATE ${PORTAL_LWIP_INCLUDE_DIR} ${CMAKE_SOURCE_DIR}/host)
  target_compile_options(portal_lwip_glue PRIVATE ${PORTAL_WARNINGS})
  target_compile_definitions(portal_lwip_glue PRIVATE
    PORTAL_LWIP_SOCKETS=${PORTAL_LWIP_TEST_SOCKETS}
    PORTAL_LWIP_STACK_SOCKETS=${PORTAL_LWIP_TEST_SOCKETS})

  add_executable(portal-host-lwip host/runtime/main.c $<TARGET_OBJECTS:portal_runtime>
    $<TARGET_OBJECTS:portal_lwip_glue>)
  target_compile_options(portal-host-lwip PRIVATE ${PORTAL_WARNINGS})
  target_compile_definitions(portal-host-lwip PRIVATE PORTAL_VERSION="${PROJECT_VERSION}" PORTAL_HOST_LWIP=1)
  target_include_directories(portal-host-lwip PRIVATE ${CMAKE_SOURCE_DIR}/host)
  target_link_options(portal-host-lwip PRIVATE -rdynamic)
  target_link_libraries(portal-host-lwip PRIVATE portal_core_lwip
    -Wl,--whole-archive ${WASM_RT_IMPL} -Wl,--no-whole-archive ${PORTAL_LWIP_LIB} Threads::Threads dl m)
else()
  message(STATUS "lwip-host: liblwip-dev (with netif/tapif.h) not found: portal-host-lwip is not built "
                 "and tests/integration/test_lwip.sh skips")
endif()

# unit.test_lwip_platform: lwip.c on the same library through lwIP's own loopback (no root, no
# TAP), with a 4-socket budget: the budget, wait_many's select semantics, the socket count.
if(PORTAL_LWIP_INCLUDE_DIR AND PORTAL_LWIP_LIB)
  find_package(Threads REQUIRED)
  add_executable(test_lwip_platform tests/lwip/test_lwip_platform.c host/platform/lwip.c
    host/platform/interrupt.c host/platform/resolve_queue.c)
  target_include_directories(test_lwip_platform PRIVATE ${PORTAL_LWIP_INCLUDE_DIR}
    ${CMAKE_SOURCE_DIR}/host ${CMAKE_SOURCE_DIR}/tests/unit)
  target_compile_options(test_lwip_platform PRIVATE ${PORTAL_WARNINGS})
  target_compile_definitions(test_lwip_platform PRIVATE PORTAL_LWIP_SOCKETS=4 PORTAL_LWIP_STACK_SOCKETS=4)
  target_link_libraries(test_lwip_platform PRIVATE ${PORTAL_LWIP_LIB} Threads::Threads)
  add_test(NAME unit.test_lwip_platform
    COMMAND bash ${CMAKE_SOURCE_DIR}/tests/valgrind/vg-run $<TARGET_FILE:test_lwip_platform>)
  set_tests_properties(unit.test_lwip_platform PROPERTIES TIMEOUT 120 LABELS unit)
endif()
