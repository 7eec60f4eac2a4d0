from channels.generic.websocket import AsyncJsonWebsocketConsumer


class AccountEventsConsumer(AsyncJsonWebsocketConsumer):
    """Pushes account events to the user's open pages (a freeze ends every open page at once)."""

    async def connect(self):
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self.close(code=4401)
            return
        self.group = f"account.{user.pk}"
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.accept()

    async def disconnect(self, code):
        if hasattr(self, "group"):
            await self.channel_layer.group_discard(self.group, self.channel_name)

    async def account_frozen(self, event):
        await self.send_json({"event": "account.frozen"})
        await self.close(code=4403)
