# The workload controllers (replicaset, deployment, garbagecollector, podgc, job, cronjob,
# daemonset, statefulset and the DaemonSet/StatefulSet revision history).
list(APPEND KITE_CONTROLLER_SOURCES
  ${CMAKE_CURRENT_SOURCE_DIR}/src/workload_controller_base.cpp
  ${CMAKE_CURRENT_SOURCE_DIR}/src/workload_pods.cpp
  ${CMAKE_CURRENT_SOURCE_DIR}/src/workload_rollout.cpp
  ${CMAKE_CURRENT_SOURCE_DIR}/src/go_json.cpp
  ${CMAKE_CURRENT_SOURCE_DIR}/src/controller_history.cpp
  ${CMAKE_CURRENT_SOURCE_DIR}/src/controller_history_sync.cpp
  ${CMAKE_CURRENT_SOURCE_DIR}/src/workloads.cpp
  ${CMAKE_CURRENT_SOURCE_DIR}/src/replicaset_controller.cpp
  ${CMAKE_CURRENT_SOURCE_DIR}/src/deployment_status.cpp
  ${CMAKE_CURRENT_SOURCE_DIR}/src/deployment_scaling.cpp
  ${CMAKE_CURRENT_SOURCE_DIR}/src/deployment_controller.cpp
  ${CMAKE_CURRENT_SOURCE_DIR}/src/garbage_collector.cpp
  ${CMAKE_CURRENT_SOURCE_DIR}/src/pod_gc.cpp
  ${CMAKE_CURRENT_SOURCE_DIR}/src/node_quarantine.cpp
  ${CMAKE_CURRENT_SOURCE_DIR}/src/pod_gc_controller.cpp
  ${CMAKE_CURRENT_SOURCE_DIR}/src/job_conditions.cpp
  ${CMAKE_CURRENT_SOURCE_DIR}/src/job_indexes.cpp
  ${CMAKE_CURRENT_SOURCE_DIR}/src/job_failure_policy.cpp
  ${CMAKE_CURRENT_SOURCE_DIR}/src/job_pods.cpp
  ${CMAKE_CURRENT_SOURCE_DIR}/src/job_replacement.cpp
  ${CMAKE_CURRENT_SOURCE_DIR}/src/job_success_policy.cpp
  ${CMAKE_CURRENT_SOURCE_DIR}/src/job_controller.cpp
  ${CMAKE_CURRENT_SOURCE_DIR}/src/workload_cron.cpp
  ${CMAKE_CURRENT_SOURCE_DIR}/src/cronjob_controller.cpp
  ${CMAKE_CURRENT_SOURCE_DIR}/src/daemonset_controller.cpp
  ${CMAKE_CURRENT_SOURCE_DIR}/src/statefulset_controller.cpp)
