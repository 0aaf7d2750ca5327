# The cluster controllers (cluster.h): service accounts, root CA publisher, the `kubernetes`
# Service, endpoints, node lifecycle and IPAM, volume binding and the local-path provisioner.
list(APPEND KITE_CONTROLLER_SOURCES
  ${CMAKE_CURRENT_SOURCE_DIR}/src/cluster_controller_base.cpp
  ${CMAKE_CURRENT_SOURCE_DIR}/src/cluster_controllers.cpp
  ${CMAKE_CURRENT_SOURCE_DIR}/src/cluster_cidr.cpp
  ${CMAKE_CURRENT_SOURCE_DIR}/src/cluster_events.cpp
  ${CMAKE_CURRENT_SOURCE_DIR}/src/serviceaccount_controller.cpp
  ${CMAKE_CURRENT_SOURCE_DIR}/src/root_ca_publisher.cpp
  ${CMAKE_CURRENT_SOURCE_DIR}/src/kubernetes_service_controller.cpp
  ${CMAKE_CURRENT_SOURCE_DIR}/src/cluster_endpoints.cpp
  ${CMAKE_CURRENT_SOURCE_DIR}/src/endpointslice_controller.cpp
  ${CMAKE_CURRENT_SOURCE_DIR}/src/cluster_taints.cpp
  ${CMAKE_CURRENT_SOURCE_DIR}/src/node_lifecycle_controller.cpp
  ${CMAKE_CURRENT_SOURCE_DIR}/src/node_ipam_controller.cpp
  ${CMAKE_CURRENT_SOURCE_DIR}/src/cluster_volumes.cpp
  ${CMAKE_CURRENT_SOURCE_DIR}/src/local_path_helper.cpp
  ${CMAKE_CURRENT_SOURCE_DIR}/src/volume_binder_controller.cpp
  ${CMAKE_CURRENT_SOURCE_DIR}/src/service_lb_controller.cpp)
