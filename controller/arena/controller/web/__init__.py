"""The controller's web dashboard: a read-only FastAPI app over the same store as the gRPC API.

``app.create_app`` builds it from a list of routers (``routes/``); ``serve.DashboardServer`` runs
it with uvicorn in the controller's own event loop; ``reads.Reader`` is its only way into the
store, always called from a worker thread so the gRPC server never waits on a page.
"""
