# Cluster controllers: the pure parts (CIDR allocation, endpoints from pods, PV matching) as
# unit tests, and the controllers against a real `kite server` (tests/client/test_server.h; the
# test writes pod status and node Leases itself, as no kubelet runs).
kite_add_unit_test(cluster_controllers_unit_test
  SOURCES cluster_cidr_test.cpp cluster_endpoints_test.cpp cluster_taints_test.cpp
          cluster_volumes_test.cpp local_path_helper_test.cpp
  LIBS kite_controllers)
target_include_directories(cluster_controllers_unit_test PRIVATE
  ${PROJECT_SOURCE_DIR}/controlplane/controllers/src)

kite_add_unit_test(cluster_controllers_server_test
  SOURCES cluster_server_test.cpp cluster_volumes_server_test.cpp
          ${PROJECT_SOURCE_DIR}/tests/client/test_server.cpp
  LIBS kite_controllers kite_client)
target_include_directories(cluster_controllers_server_test PRIVATE
  ${PROJECT_SOURCE_DIR}/tests/client)
target_compile_definitions(cluster_controllers_server_test PRIVATE
  KITE_BINARY="$<TARGET_FILE:kite>")

# DefaultTolerationSeconds in the API server's pod admission (controlplane/apiserver).
kite_add_unit_test(cluster_admission_test
  SOURCES cluster_admission_test.cpp
  LIBS kite_apiserver_test_support)
