"""An independent gRPC client (grpcio) for checking Zhongtai servers from outside.

Usage:
  grpc_probe.py inspect HOST:PORT
      -> {"health": {"": "SERVING", ...}, "services": [...]} using the
         standard health protocol and server reflection (v1alpha).
  grpc_probe.py health HOST:PORT [SERVICE]
      -> {"status": "SERVING"} from the standard health protocol alone (no
         reflection), as kubelet's gRPC probe asks.
  grpc_probe.py raw HOST:PORT /package.Service/Method HEX|zeros:N [TOKEN]
      -> {"code": "INVALID_ARGUMENT", "details": "..."} for a request whose
         body is the given bytes (hex) or N zero bytes, sent as-is.
"""

import json
import sys

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc


def inspect(target):
    with grpc.insecure_channel(target) as channel:
        grpc.channel_ready_future(channel).result(timeout=10)
        reflection = reflection_pb2_grpc.ServerReflectionStub(channel)
        request = reflection_pb2.ServerReflectionRequest(list_services="")
        answer = next(iter(reflection.ServerReflectionInfo(iter([request]), timeout=10)))
        services = sorted(s.name for s in answer.list_services_response.service)
        health = health_pb2_grpc.HealthStub(channel)
        statuses = {}
        for name in [""] + services:
            try:
                reply = health.Check(health_pb2.HealthCheckRequest(service=name), timeout=10)
                statuses[name] = health_pb2.HealthCheckResponse.ServingStatus.Name(reply.status)
            except grpc.RpcError as error:
                statuses[name] = error.code().name
        # Resolve one service's file through reflection, as grpcurl would.
        resolved = {}
        for name in services:
            request = reflection_pb2.ServerReflectionRequest(file_containing_symbol=name)
            reply = next(iter(reflection.ServerReflectionInfo(iter([request]), timeout=10)))
            resolved[name] = len(reply.file_descriptor_response.file_descriptor_proto) > 0
        return {"health": statuses, "services": services, "resolved": resolved}


def health(target, service=""):
    with grpc.insecure_channel(target) as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        try:
            reply = stub.Check(health_pb2.HealthCheckRequest(service=service), timeout=10)
            return {"status": health_pb2.HealthCheckResponse.ServingStatus.Name(reply.status)}
        except grpc.RpcError as error:
            return {"status": error.code().name}


def raw(target, method, body, token=None):
    payload = bytes(int(body[6:])) if body.startswith("zeros:") else bytes.fromhex(body)
    metadata = [("authorization", "Bearer " + token)] if token else None
    with grpc.insecure_channel(target) as channel:
        call = channel.unary_unary(method, request_serializer=None, response_deserializer=None)
        try:
            call(payload, timeout=30, metadata=metadata)
            return {"code": "OK", "details": ""}
        except grpc.RpcError as error:
            return {"code": error.code().name, "details": error.details() or ""}


def main(argv):
    if len(argv) >= 3 and argv[1] == "inspect":
        result = inspect(argv[2])
    elif len(argv) >= 3 and argv[1] == "health":
        result = health(argv[2], argv[3] if len(argv) >= 4 else "")
    elif len(argv) >= 5 and argv[1] == "raw":
        result = raw(argv[2], argv[3], argv[4], argv[5] if len(argv) >= 6 else None)
    else:
        print(__doc__, file=sys.stderr)
        return 2
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
