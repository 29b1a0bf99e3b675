"""Handlers for ``/subscriptions``."""

from __future__ import annotations

from hybridcal.sandbox.microsoft.http import Call, Handler, Reply
from hybridcal.sandbox.microsoft.subscriptions import SubscriptionService


class SubscriptionApi:
    def __init__(self, service: SubscriptionService, root: str) -> None:
        self._service = service
        self._root = root

    def handlers(self) -> dict[str, Handler]:
        return {
            "subscriptions.list": self.list,
            "subscriptions.create": self.create,
            "subscriptions.get": self.get,
            "subscriptions.update": self.update,
            "subscriptions.delete": self.delete,
        }

    async def list(self, call: Call) -> Reply:
        rows = [s.describe() for s in self._service.of_app(call.token.app_id)]
        return Reply(
            200, {"@odata.context": f"{self._root}/$metadata#subscriptions", "value": rows}
        )

    async def create(self, call: Call) -> Reply:
        sub = await self._service.create(call.app, call.token.roles, call.body)
        return Reply(201, sub.describe(self._root))

    async def get(self, call: Call) -> Reply:
        sub = self._service.owned(call.token.app_id, call.params["id"])
        return Reply(200, sub.describe(self._root))

    async def update(self, call: Call) -> Reply:
        sub = await self._service.update(call.token.app_id, call.params["id"], call.body)
        return Reply(200, sub.describe(self._root))

    async def delete(self, call: Call) -> Reply:
        self._service.delete(call.token.app_id, call.params["id"])
        return Reply(204)
