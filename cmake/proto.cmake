# Protocol buffers and gRPC code generation.
#
#   dvs_proto_library(storage_proto
#     PROTOS storage.proto
#     DEPS other_proto)
#
# runs protoc (with grpc_cpp_plugin) on each .proto (paths relative to the
# calling CMakeLists.txt) and makes the static library `dvs_storage_proto`.
# Imports and includes are relative to the project root: proto/storage.proto
# is included as "proto/storage.pb.h" / "proto/storage.grpc.pb.h".
#
# Only .cc files that speak gRPC should include the generated headers: they
# pull in most of gRPC and compile slowly.
find_package(Protobuf REQUIRED)
find_package(gRPC CONFIG REQUIRED)
find_program(DVS_PROTOC protoc REQUIRED)
find_program(DVS_GRPC_CPP_PLUGIN grpc_cpp_plugin REQUIRED)

set(DVS_PROTO_OUT ${CMAKE_BINARY_DIR}/proto_gen)

function(dvs_proto_library name)
  cmake_parse_arguments(P "" "" "PROTOS;DEPS" ${ARGN})
  file(MAKE_DIRECTORY ${DVS_PROTO_OUT})
  set(generated)
  foreach(proto ${P_PROTOS})
    get_filename_component(proto_abs ${proto} ABSOLUTE)
    file(RELATIVE_PATH proto_rel ${PROJECT_SOURCE_DIR} ${proto_abs})
    string(REGEX REPLACE "\\.proto$" "" stem ${proto_rel})
    set(outputs
      ${DVS_PROTO_OUT}/${stem}.pb.cc ${DVS_PROTO_OUT}/${stem}.pb.h
      ${DVS_PROTO_OUT}/${stem}.grpc.pb.cc ${DVS_PROTO_OUT}/${stem}.grpc.pb.h)
    add_custom_command(
      OUTPUT ${outputs}
      COMMAND ${DVS_PROTOC}
        --proto_path=${PROJECT_SOURCE_DIR}
        --cpp_out=${DVS_PROTO_OUT}
        --grpc_out=${DVS_PROTO_OUT}
        --plugin=protoc-gen-grpc=${DVS_GRPC_CPP_PLUGIN}
        ${proto_rel}
      WORKING_DIRECTORY ${PROJECT_SOURCE_DIR}
      DEPENDS ${proto_abs} ${DVS_PROTOC} ${DVS_GRPC_CPP_PLUGIN}
      COMMENT "protoc ${proto_rel}"
      VERBATIM)
    list(APPEND generated ${outputs})
  endforeach()
  add_library(dvs_${name} STATIC ${generated})
  target_include_directories(dvs_${name} PUBLIC ${DVS_PROTO_OUT})
  target_link_libraries(dvs_${name} PUBLIC gRPC::grpc++ protobuf::libprotobuf ${P_DEPS})
endfunction()
