# `make install` / `cmake --install`: libjwtd and libjwtd-rs (static and shared), their public
# headers and pkg-config files, the jwtd command and its man page. Included at the end of the
# top-level CMakeLists.txt, after the targets exist. Staged installs use DESTDIR as usual.
include(GNUInstallDirs)

install(TARGETS jwtd_static jwtd_shared jwtd_rs_static jwtd_rs_shared
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
        LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR})
install(TARGETS jwtd RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(DIRECTORY ${PROJECT_SOURCE_DIR}/include/jwtd/
        DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/jwtd
        FILES_MATCHING PATTERN "*.h")
install(FILES ${PROJECT_BINARY_DIR}/include/jwtd/version.h
        DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/jwtd)
install(FILES ${PROJECT_SOURCE_DIR}/docs/jwtd.1 DESTINATION ${CMAKE_INSTALL_MANDIR}/man1)

configure_file(${CMAKE_CURRENT_LIST_DIR}/libjwtd.pc.in ${PROJECT_BINARY_DIR}/libjwtd.pc @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/libjwtd.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
configure_file(${CMAKE_CURRENT_LIST_DIR}/libjwtd-rs.pc.in ${PROJECT_BINARY_DIR}/libjwtd-rs.pc @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/libjwtd-rs.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
