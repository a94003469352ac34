# install.cmake - what `cmake --install build --prefix P` (or `make install PREFIX=P`) puts under P:
#   bin/portal-host                          the runtime (system libraries only, no rpath)
#   include/portal/*.h                       C SDK headers
#   share/portal-sdk/c/portal_sdk.c          C SDK source, compiled into every app
#   share/portal-sdk/zig/                    Zig SDK (sdk.zig, sdk/*.zig, README.md)
#   share/portal-sdk/gen-certs.sh            development certificate generator
#   share/doc/portal-sdk/                    README.md and docs/
#   lib/cmake/PortalSDK/                     the CMake package: find_package(PortalSDK) gives
#                                            portal_add_app() (PortalSDKApps.cmake = cmake/apps.cmake)
include(CMakePackageConfigHelpers)
set(PORTAL_INSTALL_INCLUDEDIR include)
set(PORTAL_INSTALL_SDKDIR share/portal-sdk)
set(PORTAL_INSTALL_BINDIR bin)
set(PORTAL_INSTALL_CMAKEDIR lib/cmake/PortalSDK)

install(TARGETS portal-host RUNTIME DESTINATION ${PORTAL_INSTALL_BINDIR})
install(DIRECTORY sdk/c/include/portal DESTINATION ${PORTAL_INSTALL_INCLUDEDIR}
  FILES_MATCHING PATTERN "*.h")
install(FILES sdk/c/portal_sdk.c DESTINATION ${PORTAL_INSTALL_SDKDIR}/c)
install(FILES sdk/zig/sdk.zig sdk/zig/README.md DESTINATION ${PORTAL_INSTALL_SDKDIR}/zig)
install(DIRECTORY sdk/zig/sdk DESTINATION ${PORTAL_INSTALL_SDKDIR}/zig FILES_MATCHING PATTERN "*.zig")
install(PROGRAMS scripts/gen-certs.sh DESTINATION ${PORTAL_INSTALL_SDKDIR})
install(FILES README.md DESTINATION share/doc/portal-sdk)
install(DIRECTORY docs DESTINATION share/doc/portal-sdk)

configure_package_config_file(cmake/PortalSDKConfig.cmake.in
  ${CMAKE_BINARY_DIR}/PortalSDKConfig.cmake
  INSTALL_DESTINATION ${PORTAL_INSTALL_CMAKEDIR}
  PATH_VARS PORTAL_INSTALL_INCLUDEDIR PORTAL_INSTALL_SDKDIR PORTAL_INSTALL_BINDIR)
write_basic_package_version_file(${CMAKE_BINARY_DIR}/PortalSDKConfigVersion.cmake
  VERSION ${PROJECT_VERSION} COMPATIBILITY SameMinorVersion)
install(FILES ${CMAKE_BINARY_DIR}/PortalSDKConfig.cmake ${CMAKE_BINARY_DIR}/PortalSDKConfigVersion.cmake
  DESTINATION ${PORTAL_INSTALL_CMAKEDIR})
install(FILES cmake/apps.cmake DESTINATION ${PORTAL_INSTALL_CMAKEDIR} RENAME PortalSDKApps.cmake)
