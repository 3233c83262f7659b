"""gRPC servicers: authenticate, convert with arena.common.wire, call the store, convert back."""
