"""gRPC servicers: authenticate, convert with shared.wire, call the store, convert back."""
