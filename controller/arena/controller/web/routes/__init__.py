"""One router per view; ``arena.controller.web.app.ROUTERS`` lists them."""
