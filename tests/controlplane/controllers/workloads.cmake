# Workload controllers: the pure logic (rollout arithmetic, pod ranking, template hash, cron
# schedules, Deployment conditions) as unit tests, and the controllers against a real
# `kite server --disable-agent` (no kubelet: the tests write pod status themselves).
kite_add_unit_test(workload_controllers_unit_test
  SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/workload_logic_test.cpp
  LIBS kite_controllers kite_test_fakes)
target_include_directories(workload_controllers_unit_test
  PRIVATE ${PROJECT_SOURCE_DIR}/controlplane/controllers/src)

kite_add_unit_test(workload_controllers_server_test
  SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/workload_server_test.cpp
          ${PROJECT_SOURCE_DIR}/tests/client/test_server.cpp
  LIBS kite_controllers kite_client)
target_include_directories(workload_controllers_server_test PRIVATE ${PROJECT_SOURCE_DIR}/tests/client)
target_compile_definitions(workload_controllers_server_test PRIVATE KITE_BINARY="$<TARGET_FILE:kite>")

kite_add_unit_test(garbage_collector_server_test
  SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/garbage_collector_server_test.cpp
          ${PROJECT_SOURCE_DIR}/tests/client/test_server.cpp
  LIBS kite_controllers kite_client)
target_include_directories(garbage_collector_server_test PRIVATE ${PROJECT_SOURCE_DIR}/tests/client)
target_compile_definitions(garbage_collector_server_test PRIVATE KITE_BINARY="$<TARGET_FILE:kite>")

# The Job controller's, Deployment scaling's and the pod GC's pure parts, and each controller
# against a real `kite server`.
kite_add_unit_test(workload_controllers_logic_test
  SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/job_logic_test.cpp
          ${CMAKE_CURRENT_SOURCE_DIR}/deployment_scaling_test.cpp
          ${CMAKE_CURRENT_SOURCE_DIR}/pod_gc_logic_test.cpp
  LIBS kite_controllers)
target_include_directories(workload_controllers_logic_test
  PRIVATE ${PROJECT_SOURCE_DIR}/controlplane/controllers/src)

kite_add_unit_test(job_controller_server_test
  SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/job_server_test.cpp
          ${PROJECT_SOURCE_DIR}/tests/client/test_server.cpp
  LIBS kite_controllers kite_client)
target_include_directories(job_controller_server_test PRIVATE ${PROJECT_SOURCE_DIR}/tests/client)
target_compile_definitions(job_controller_server_test PRIVATE KITE_BINARY="$<TARGET_FILE:kite>")

# The pod garbage collector against a real `kite server`: pods of deleted and out-of-service
# nodes, terminated pods over the threshold.
kite_add_unit_test(pod_gc_server_test
  SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/pod_gc_server_test.cpp
          ${PROJECT_SOURCE_DIR}/tests/client/test_server.cpp
  LIBS kite_controllers kite_client)
target_include_directories(pod_gc_server_test PRIVATE ${PROJECT_SOURCE_DIR}/tests/client)
target_compile_definitions(pod_gc_server_test PRIVATE KITE_BINARY="$<TARGET_FILE:kite>")

kite_add_unit_test(deployment_controller_server_test
  SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/deployment_server_test.cpp
          ${PROJECT_SOURCE_DIR}/tests/client/test_server.cpp
  LIBS kite_controllers kite_client)
target_include_directories(deployment_controller_server_test PRIVATE ${PROJECT_SOURCE_DIR}/tests/client)
target_compile_definitions(deployment_controller_server_test PRIVATE KITE_BINARY="$<TARGET_FILE:kite>")

# The DaemonSet/StatefulSet revision history (ControllerRevisions): the pure plan as a unit
# test; the controllers keeping it against a real `kite server` in
# controller_history_server_test.
kite_add_unit_test(controller_history_unit_test
  SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/controller_history_test.cpp
  LIBS kite_controllers)
target_include_directories(controller_history_unit_test
  PRIVATE ${PROJECT_SOURCE_DIR}/controlplane/controllers/src)

kite_add_unit_test(controller_history_server_test
  SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/controller_history_server_test.cpp
          ${PROJECT_SOURCE_DIR}/tests/client/test_server.cpp
  LIBS kite_controllers kite_client)
target_include_directories(controller_history_server_test
  PRIVATE ${PROJECT_SOURCE_DIR}/tests/client ${PROJECT_SOURCE_DIR}/controlplane/controllers/src)
target_compile_definitions(controller_history_server_test PRIVATE KITE_BINARY="$<TARGET_FILE:kite>")
